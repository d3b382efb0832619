// Runs one function on several threads at once, for coarse-grained parallelism (training
// workers, evaluation shares): task 0 runs on the calling thread, tasks 1..n-1 on new threads.
// The new threads get a large stack, because Eigen keeps GEMM scratch blocks of up to
// EIGEN_STACK_ALLOCATION_LIMIT bytes on the stack (no heap allocation per step).
#pragma once

#include <functional>

namespace gru4rec {

// The number of hardware threads (at least 1).
int available_cores();

// Calls task(0), ..., task(n - 1) concurrently and waits for all of them. If tasks throw, the
// first exception (in task order) is rethrown after every task has finished; a task that must
// stop the others early has to signal them itself (a shared flag). Thread-safe.
void run_parallel(int n, const std::function<void(int)>& task);

}  // namespace gru4rec
