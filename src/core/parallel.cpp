#include "gru4rec/core/parallel.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "gru4rec/core/cpu_budget.h"
#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

// Eight times Eigen's stack allocation limit, with room for the callers' frames.
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
  return cpu_budget().cores;
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

// The team's state, shared with its helper threads. A waiting thread spins for up to
// kSpinTime before it sleeps: a training step's phases follow each other within microseconds
// to a few hundred (the serial work between steps: batching, sampling), and waking a sleeping
// thread costs 50-250 microseconds on the virtual machines measured (paravirtualised
// interrupts), more than a whole phase of a small step.
struct ThreadTeam::Shared {
  static constexpr auto kSpinTime = std::chrono::microseconds(500);

  void* task = nullptr;
  void (*call)(void*, int) = nullptr;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  bool stopping = false;  // under mutex
  std::mutex mutex;
  std::condition_variable work, done;
  std::vector<std::exception_ptr> errors;
  std::vector<pthread_t> threads;

  struct Start {
    Shared* shared;
    int index;
  };
  std::vector<Start> starts;

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  // Spins until done() or kSpinTime has passed; returns done(). After the first 64 rounds
  // it yields the core between checks, so that a team with more threads than free cores (other
  // programs, or threads > cores) lets the thread it waits for run.
  template <typename Done>
  static bool spin_until(Done&& done) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      pause();
    }
    const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    for (;;) {
      for (int i = 0; i < 16; ++i) {
        if (done()) return true;
        pause();
      }
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() >= deadline) return done();
    }
  }

  void helper(int index) {
    uint64_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return generation.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> lock(mutex);
        work.wait(lock,
                  [&] { return stopping || generation.load(std::memory_order_acquire) != seen; });
        if (stopping) return;
      }
      seen = generation.load(std::memory_order_acquire);
      try {
        call(task, index);
      } catch (...) {
        errors[static_cast<size_t>(index)] = std::current_exception();
      }
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
    }
  }

  static void* entry(void* arg) {
    const Start* start = static_cast<const Start*>(arg);
    start->shared->helper(start->index);
    return nullptr;
  }
};

ThreadTeam::ThreadTeam(int size) : size_(size), shared_(std::make_unique<Shared>()) {
  GRU4REC_CHECK(size >= 1);
  Shared& s = *shared_;
  s.errors.resize(static_cast<size_t>(size));
  s.starts.resize(static_cast<size_t>(size));
  // Reserved first: once a helper runs, nothing here may throw before it is recorded.
  s.threads.reserve(static_cast<size_t>(size));
  pthread_attr_t attr;
  GRU4REC_CHECK(pthread_attr_init(&attr) == 0);
  GRU4REC_CHECK(pthread_attr_setstacksize(&attr, kThreadStackBytes) == 0);
  for (int i = 1; i < size; ++i) {
    s.starts[static_cast<size_t>(i)] = Shared::Start{&s, i};
    pthread_t thread;
    if (pthread_create(&thread, &attr, &Shared::entry, &s.starts[static_cast<size_t>(i)]) != 0) {
      // Resource limits: a smaller team does the same work.
      size_ = i;
      break;
    }
    s.threads.push_back(thread);
  }
  pthread_attr_destroy(&attr);
}

ThreadTeam::~ThreadTeam() {
  Shared& s = *shared_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
  }
  s.work.notify_all();
  for (pthread_t thread : s.threads) pthread_join(thread, nullptr);
}

void ThreadTeam::run_erased(void* task, void (*call)(void*, int)) {
  Shared& s = *shared_;
  for (auto& error : s.errors) error = nullptr;
  if (size_ > 1) {
    s.task = task;
    s.call = call;
    s.pending.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.generation.fetch_add(1, std::memory_order_release);
    }
    s.work.notify_all();
  }
  try {
    call(task, 0);
  } catch (...) {
    s.errors[0] = std::current_exception();
  }
  if (size_ > 1) {
    if (!Shared::spin_until([&] { return s.pending.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.done.wait(lock, [&] { return s.pending.load(std::memory_order_acquire) == 0; });
    }
  }
  for (const auto& error : s.errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace gru4rec
