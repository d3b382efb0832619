#include "progress.h"

#include <fmt/format.h>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"

namespace gru4rec::cli {
namespace {

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "bar") return ProgressMode::kBar;
  if (text == "lines") return ProgressMode::kLines;
  if (text == "none") return ProgressMode::kNone;
  throw Error(fmt::format("unknown progress mode '{}'", text));
}

ProgressPrinter::ProgressPrinter(ProgressMode mode, std::FILE* epoch_stream)
    : epoch_stream_(epoch_stream) {
  if (mode == ProgressMode::kAuto)
    mode = stderr_is_terminal() ? ProgressMode::kBar : ProgressMode::kLines;
  live_ = mode == ProgressMode::kBar;
  periodic_ = mode == ProgressMode::kLines;
}

TrainCallbacks ProgressPrinter::callbacks() {
  TrainCallbacks callbacks;
  callbacks.progress_interval_seconds = live_ ? 0.25 : 10.0;
  if (live_ || periodic_)
    callbacks.on_progress = [this](const TrainProgress& p) { on_progress(p); };
  callbacks.on_epoch = [this](const EpochReport& r) { on_epoch(r); };
  callbacks.on_notice = [this](const std::string& message) { on_notice(message); };
  return callbacks;
}

void ProgressPrinter::on_progress(const TrainProgress& p) {
  const double fraction =
      p.events_total > 0 ? static_cast<double>(p.events_done) / static_cast<double>(p.events_total)
                         : 0;
  const double rate = p.seconds > 0 ? static_cast<double>(p.events_done) / p.seconds : 0;
  const double epoch_eta =
      rate > 0 ? static_cast<double>(p.events_total - p.events_done) / rate : 0;
  const double epoch_estimate = fraction > 0 ? p.seconds / fraction : 0;
  const double total_eta = epoch_eta + epoch_estimate * (p.n_epochs - p.epoch);
  const std::string text =
      fmt::format("epoch {}/{} {:5.1f}% loss {:.4f} | {:.0f} e/s | epoch ETA {} | total ETA {}",
                  p.epoch, p.n_epochs, 100 * fraction, p.mean_loss, rate,
                  format_duration(epoch_eta), format_duration(total_eta));
  if (live_) {
    fmt::print(stderr, "\r{:<100}", text);
    line_open_ = true;
  } else {
    fmt::print(stderr, "{}\n", text);
  }
  std::fflush(stderr);
}

void ProgressPrinter::clear_live_line() {
  if (line_open_) {
    fmt::print(stderr, "\r{:<100}\r", "");
    std::fflush(stderr);
    line_open_ = false;
  }
}

void ProgressPrinter::on_epoch(const EpochReport& r) {
  clear_live_line();
  fmt::print(epoch_stream_, "Epoch{} --> loss: {:.6f} ({:.2f}s) [{:.2f} mb/s | {:.0f} e/s]\n",
             r.epoch, r.loss, r.seconds, r.steps_per_second(), r.events_per_second());
  std::fflush(epoch_stream_);
}

void ProgressPrinter::on_notice(const std::string& message) {
  clear_live_line();
  fmt::print(epoch_stream_, "note: {}\n", message);
  std::fflush(epoch_stream_);
}

}  // namespace gru4rec::cli
