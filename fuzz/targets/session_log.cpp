// Session logs as `gru4rec train` and `eval` read them (header, separator detection or a given
// separator, quoting, ids, times, sorting). A log that reads must be well-formed: sessions in
// order, every item index within the dictionary, finite times.
#include <cmath>

#include "fuzz_targets.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"

namespace gru4rec::fuzz {
namespace {

void check(const SessionLog& log, int32_t num_items) {
  FUZZ_CHECK(!log.offsets.empty() && log.offsets.front() == 0);
  FUZZ_CHECK(log.offsets.back() == log.num_events());
  FUZZ_CHECK(static_cast<int64_t>(log.session_ids.size()) == log.num_sessions());
  FUZZ_CHECK(log.times.size() == log.items.size());
  for (size_t s = 1; s < log.offsets.size(); ++s) FUZZ_CHECK(log.offsets[s] > log.offsets[s - 1]);
  for (const int32_t item : log.items) FUZZ_CHECK(item >= 0 && item < num_items);
  for (const double t : log.times) FUZZ_CHECK(std::isfinite(t));
  for (const std::string& id : log.session_ids) FUZZ_CHECK(!id.empty() && id.size() <= kMaxIdBytes);
}

}  // namespace

int session_log(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr char kSeparators[] = {'\0', '\t', ',', ';'};
  ReadOptions options;
  options.separator = kSeparators[data[0] & 3];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ItemIndex items;
  try {
    const SessionLog train = parse_training_log(text, "fuzz", options, items);
    check(train, items.size());
    for (int32_t i = 0; i < items.size(); ++i)
      FUZZ_CHECK(!items.id(i).empty() && items.id(i).size() <= kMaxIdBytes);
  } catch (const Error&) {
  }
  // The same text as test data against a fixed dictionary: unknown items dropped.
  static const ItemIndex known = [] {
    ItemIndex index;
    for (const char* id : {"1", "2", "3", "a", "b", "214829"}) index.insert(id);
    return index;
  }();
  try {
    const SessionLog test = parse_test_log(text, "fuzz", options, known);
    check(test, known.size());
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace gru4rec::fuzz
