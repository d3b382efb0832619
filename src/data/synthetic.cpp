#include "gru4rec/data/synthetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"

namespace gru4rec {
namespace {

// Draws an index with probability proportional to `cumulative` increments.
size_t draw_cumulative(const std::vector<double>& cumulative, Rng& rng) {
  const double u = rng.uniform() * cumulative.back();
  return static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) -
                             cumulative.begin());
}

std::vector<double> cumulate(const std::vector<double>& weights) {
  std::vector<double> out(weights.size());
  std::partial_sum(weights.begin(), weights.end(), out.begin());
  return out;
}

constexpr int kSuccessors = 4;
constexpr double kSuccessorWeights[kSuccessors] = {0.5, 0.25, 0.15, 0.1};
constexpr double kStartTime = 1767225600;  // 2026-01-01 00:00:00 UTC

}  // namespace

SyntheticData generate_synthetic_data(const SyntheticOptions& o) {
  GRU4REC_CHECK(o.num_items >= 10 && o.num_sessions >= 10 && o.num_topics >= 1 && o.days >= 1 &&
                o.test_days >= 0 && o.test_days < o.days);
  Rng rng(o.seed);
  const auto n = static_cast<size_t>(o.num_items);
  // Popularity: Zipf over a random permutation of the items.
  std::vector<size_t> rank(n);
  std::iota(rank.begin(), rank.end(), size_t{0});
  for (size_t i = n; i > 1; --i) std::swap(rank[i - 1], rank[rng.below(static_cast<uint32_t>(i))]);
  std::vector<double> popularity(n);
  for (size_t i = 0; i < n; ++i)
    popularity[i] = 1.0 / std::pow(static_cast<double>(rank[i]) + 5.0, 1.1);
  // Topics: each item belongs to one; a topic draws its items by popularity.
  const auto topics = static_cast<size_t>(o.num_topics);
  std::vector<std::vector<size_t>> topic_items(topics);
  for (size_t i = 0; i < n; ++i) topic_items[rng.below(static_cast<uint32_t>(topics))].push_back(i);
  std::vector<std::vector<double>> topic_cumulative(topics);
  std::vector<double> topic_weight(topics, 0.0);
  for (size_t t = 0; t < topics; ++t) {
    if (topic_items[t].empty()) topic_items[t].push_back(rng.below(static_cast<uint32_t>(n)));
    std::vector<double> w;
    for (size_t item : topic_items[t]) w.push_back(popularity[item]);
    topic_weight[t] = std::accumulate(w.begin(), w.end(), 0.0);
    topic_cumulative[t] = cumulate(w);
  }
  const std::vector<double> topic_cdf = cumulate(topic_weight);
  const std::vector<double> global_cdf = cumulate(popularity);
  std::vector<size_t> topic_of(n);
  for (size_t t = 0; t < topics; ++t) {
    for (size_t item : topic_items[t]) topic_of[item] = t;
  }
  // Transitions: each item has a few likely successors, mostly from its own topic.
  std::vector<std::array<size_t, kSuccessors>> successors(n);
  for (size_t i = 0; i < n; ++i) {
    for (auto& next : successors[i]) {
      if (rng.uniform() < 0.85) {
        const size_t t = topic_of[i];
        next = topic_items[t][draw_cumulative(topic_cumulative[t], rng)];
      } else {
        next = draw_cumulative(global_cdf, rng);
      }
    }
  }
  const std::vector<double> successor_cdf =
      cumulate(std::vector<double>(std::begin(kSuccessorWeights), std::end(kSuccessorWeights)));
  auto successor_of = [&](size_t item) {
    return successors[item][draw_cumulative(successor_cdf, rng)];
  };

  struct Session {
    double start;
    std::vector<size_t> items;
  };
  std::vector<Session> sessions(static_cast<size_t>(o.num_sessions));
  const double span = 86400.0 * o.days;
  for (Session& session : sessions) {
    session.start = kStartTime + std::floor(rng.uniform() * span);
    const auto length =
        static_cast<size_t>(std::min(50.0, 1.0 + std::floor(-std::log(1.0 - rng.uniform()) * 4.0)));
    const size_t t = draw_cumulative(topic_cdf, rng);
    session.items.push_back(topic_items[t][draw_cumulative(topic_cumulative[t], rng)]);
    while (session.items.size() < length) {
      const size_t current = session.items.back();
      const double u = rng.uniform();
      size_t next;
      if (u < 0.55) {
        next = successor_of(current);
      } else if (u < 0.70 && session.items.size() >= 2) {
        next = successor_of(session.items[session.items.size() - 2]);
      } else if (u < 0.85) {
        next = topic_items[t][draw_cumulative(topic_cumulative[t], rng)];
      } else if (u < 0.95) {
        next = session.items[rng.below(static_cast<uint32_t>(session.items.size()))];
      } else {
        next = draw_cumulative(global_cdf, rng);
      }
      session.items.push_back(next);
    }
  }
  std::stable_sort(sessions.begin(), sessions.end(),
                   [](const Session& a, const Session& b) { return a.start < b.start; });
  const double test_start = kStartTime + span - 86400.0 * o.test_days;
  SyntheticData data;
  data.train_tsv = "SessionId\tItemId\tTime\n";
  data.test_tsv = data.train_tsv;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const bool test = sessions[s].start >= test_start;
    std::string& out = test ? data.test_tsv : data.train_tsv;
    double time = sessions[s].start;
    for (size_t item : sessions[s].items) {
      out += fmt::format("{}\t{}\t{}\n", s + 1, 100000 + item, static_cast<int64_t>(time));
      time += 20.0 + std::floor(-std::log(1.0 - rng.uniform()) * 60.0);
    }
    (test ? data.test_events : data.train_events) += static_cast<int64_t>(sessions[s].items.size());
    ++(test ? data.test_sessions : data.train_sessions);
  }
  return data;
}

}  // namespace gru4rec
