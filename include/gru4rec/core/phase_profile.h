// Where the time of training goes, by phase of the step: attributes the time elapsed since the
// previous mark to the phase being marked. Off (a null pointer) by default; when on, each mark
// costs one clock read. Per-thread; not thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace gru4rec {

enum class Phase {
  kBatch,         // session-parallel iterator, state compaction and resets
  kSampling,      // negative samples and logQ shifts
  kForward,       // input gather, GRU layers, dropout
  kScores,        // output gather and the score product
  kLoss,          // final activation, loss and its gradient
  kBackward,      // gradients of the output rows and through the GRU layers
  kSparseUpdate,  // optimizer on the touched item rows
  kDenseUpdate,   // optimizer on the GRU weights
  kCount
};

std::string_view phase_name(Phase phase);

class PhaseProfile {
 public:
  using Clock = std::chrono::steady_clock;

  void start() { last_ = Clock::now(); }
  void mark(Phase phase) {
    const Clock::time_point now = Clock::now();
    seconds_[static_cast<size_t>(phase)] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  // Counts a mini-batch of the profiled thread.
  void add_step() { ++steps_; }
  int64_t steps() const { return steps_; }
  double seconds(Phase phase) const { return seconds_[static_cast<size_t>(phase)]; }
  double total() const {
    double sum = 0;
    for (double s : seconds_) sum += s;
    return sum;
  }

 private:
  std::array<double, static_cast<size_t>(Phase::kCount)> seconds_{};
  Clock::time_point last_ = Clock::now();
  int64_t steps_ = 0;
};

// Marks `phase` when profiling is on.
inline void mark_phase(PhaseProfile* profile, Phase phase) {
  if (profile != nullptr) profile->mark(phase);
}

}  // namespace gru4rec
