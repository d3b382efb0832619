#include "gru4rec/core/parallel.h"

#include <pthread.h>

#include <exception>
#include <thread>
#include <vector>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

// Four times Eigen's stack allocation limit, with room for the callers' frames.
constexpr size_t kThreadStackBytes = size_t{32} << 20;

struct TaskSlot {
  const std::function<void(int)>* task = nullptr;
  int index = 0;
  std::exception_ptr error;
};

void run_slot(TaskSlot& slot) {
  try {
    (*slot.task)(slot.index);
  } catch (...) {
    slot.error = std::current_exception();
  }
}

void* thread_entry(void* arg) {
  run_slot(*static_cast<TaskSlot*>(arg));
  return nullptr;
}

}  // namespace

int available_cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void run_parallel(int n, const std::function<void(int)>& task) {
  GRU4REC_CHECK(n >= 1);
  std::vector<TaskSlot> slots(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) slots[static_cast<size_t>(i)] = TaskSlot{&task, i, nullptr};
  std::vector<pthread_t> threads;
  pthread_attr_t attr;
  GRU4REC_CHECK(pthread_attr_init(&attr) == 0);
  GRU4REC_CHECK(pthread_attr_setstacksize(&attr, kThreadStackBytes) == 0);
  for (int i = 1; i < n; ++i) {
    pthread_t thread;
    const int rc = pthread_create(&thread, &attr, thread_entry, &slots[static_cast<size_t>(i)]);
    if (rc != 0) {
      // Could not start a thread (resource limits): run that task here, after the others.
      slots[static_cast<size_t>(i)].error = nullptr;
      slots[static_cast<size_t>(i)].index = -i - 1;  // marks "run inline"
      continue;
    }
    threads.push_back(thread);
  }
  pthread_attr_destroy(&attr);
  run_slot(slots[0]);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  for (TaskSlot& slot : slots) {
    if (slot.index < 0) {
      slot.index = -slot.index - 1;
      run_slot(slot);
    }
  }
  for (TaskSlot& slot : slots) {
    if (slot.error) std::rethrow_exception(slot.error);
  }
}

}  // namespace gru4rec
