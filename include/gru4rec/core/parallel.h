// Threads for the parallel parts of training and evaluation: run_parallel() for coarse-grained
// work (evaluation shares, Hogwild training threads), a ThreadTeam for repeated finer work (the
// shares of every synchronous training step). Task 0 runs on the calling thread. The other
// threads get a large stack, because Eigen keeps GEMM scratch blocks of up to
// EIGEN_STACK_ALLOCATION_LIMIT bytes on the stack (no heap allocation per step).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace gru4rec {

// The cores this process may use (cpu_budget.h: its affinity mask, capped by its cgroup's CPU
// quota; at least 1): every default thread count comes from it.
int available_cores();

// Calls task(0), ..., task(n - 1) concurrently and waits for all of them. If tasks throw, the
// first exception (in task order) is rethrown after every task has finished; a task that must
// stop the others early has to signal them itself (a shared flag). Thread-safe.
void run_parallel(int n, const std::function<void(int)>& task);

// The slice [first, last) of `count` values that share `share` of `shares` takes: the shares
// cover [0, count) in order, with sizes differing by at most one.
inline std::pair<int64_t, int64_t> share_range(int64_t count, int share, int shares) {
  return {count * share / shares, count * (share + 1) / shares};
}

// A fixed team of threads for fine-grained, repeated parallel work (the shares of one training
// step): size() - 1 helper threads are started once and wait between calls, so a call costs a
// wake-up rather than a thread start. run() is called from one thread at a time (the owner's);
// the helpers get the same large stack as run_parallel's threads.
class ThreadTeam {
 public:
  explicit ThreadTeam(int size);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return size_; }

  // Calls task(0), ..., task(size() - 1) concurrently, task(0) on the calling thread, and waits
  // for all of them; then rethrows the first exception (in task order), if any. `task` is
  // called through a pointer, never copied: no allocation per call.
  template <typename Task>
  void run(Task&& task) {
    run_erased(const_cast<void*>(static_cast<const void*>(&task)), [](void* erased, int index) {
      (*static_cast<std::remove_reference_t<Task>*>(erased))(index);
    });
  }

 private:
  struct Shared;
  void run_erased(void* task, void (*call)(void*, int));
  int size_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace gru4rec
