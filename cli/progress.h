// Training progress on the terminal: a live line with ETA when stderr is a terminal, plain
// lines every few seconds otherwise (CI logs), and one summary line per epoch in the format
// of the official implementation; notes on how the training runs (threads, warm-up, a fall
// back to one thread) go to the same stream as the epoch lines.
#pragma once

#include <cstdio>
#include <string>

#include "gru4rec/train/trainer.h"

namespace gru4rec::cli {

enum class ProgressMode { kAuto, kBar, kLines, kNone };

ProgressMode parse_progress_mode(const std::string& text);

class ProgressPrinter {
 public:
  ProgressPrinter(ProgressMode mode, std::FILE* epoch_stream);

  TrainCallbacks callbacks();

 private:
  void on_progress(const TrainProgress& p);
  void on_epoch(const EpochReport& r);
  void on_notice(const std::string& message);
  void clear_live_line();

  bool live_ = false;      // rewrite one line on stderr
  bool periodic_ = false;  // print plain lines
  std::FILE* epoch_stream_;
  bool line_open_ = false;
};

}  // namespace gru4rec::cli
