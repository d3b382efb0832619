#include "gru4rec/baselines/baseline.h"

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "internal.h"

namespace gru4rec {

const std::vector<std::string>& baseline_names() {
  static const std::vector<std::string> names{"pop", "spop", "itemknn", "vsknn",
                                              "sr",  "stan", "vstan",   "hybrid"};
  return names;
}

std::vector<std::string> data_only_baseline_names() {
  std::vector<std::string> names = baseline_names();
  std::erase(names, "hybrid");
  return names;
}

std::unique_ptr<Baseline> fit_baseline(std::string_view algorithm, std::string_view params,
                                       const SessionLog& train, int32_t num_items) {
  GRU4REC_CHECK(num_items > 0);
  if (algorithm == "pop") return baseline_detail::fit_pop(params, train, num_items);
  if (algorithm == "spop") return baseline_detail::fit_spop(params, train, num_items);
  if (algorithm == "itemknn") return baseline_detail::fit_item_knn(params, train, num_items);
  if (algorithm == "vsknn") return baseline_detail::fit_session_knn(params, train, num_items);
  if (algorithm == "sr") return baseline_detail::fit_sequential_rules(params, train, num_items);
  if (algorithm == "stan") return baseline_detail::fit_stan(params, train, num_items);
  if (algorithm == "vstan") return baseline_detail::fit_vstan(params, train, num_items);
  if (algorithm == "hybrid") {
    throw Error("hybrid needs the training items' ids: fit it with fit_baseline(..., ItemIndex)");
  }
  throw Error(fmt::format("unknown baseline {}; expected one of: {}", quote_for_message(algorithm),
                          join(baseline_names(), ", ")));
}

std::unique_ptr<Baseline> fit_baseline(std::string_view algorithm, std::string_view params,
                                       const SessionLog& train, const ItemIndex& items) {
  if (algorithm == "hybrid") return baseline_detail::fit_hybrid(params, items);
  return fit_baseline(algorithm, params, train, items.size());
}

}  // namespace gru4rec
