#include "gru4rec/tune/tpe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

// A mixture of Gaussians truncated to [low, high], equal weights.
struct Parzen {
  std::vector<double> mu, sigma;
  double low = 0, high = 1;

  // Observations (on the model's scale) plus a prior component over the whole range.
  static Parzen fit(std::vector<double> points, double low, double high) {
    Parzen m;
    m.low = low;
    m.high = high;
    const double range = std::max(high - low, 1e-12);
    points.push_back(0.5 * (low + high));  // the prior's centre
    std::vector<size_t> order(points.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return points[a] < points[b]; });
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(points.size()));
    for (size_t k = 0; k < order.size(); ++k) {
      const double x = points[order[k]];
      const double left = k > 0 ? x - points[order[k - 1]] : x - low;
      const double right = k + 1 < order.size() ? points[order[k + 1]] - x : high - x;
      double sigma = std::clamp(std::max(left, right), min_sigma, range);
      if (order[k] == points.size() - 1) sigma = range;  // the prior is wide
      m.mu.push_back(x);
      m.sigma.push_back(sigma);
    }
    return m;
  }

  static double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

  double log_pdf(double x) const {
    double total = 0;
    for (size_t k = 0; k < mu.size(); ++k) {
      const double z = (x - mu[k]) / sigma[k];
      const double mass =
          normal_cdf((high - mu[k]) / sigma[k]) - normal_cdf((low - mu[k]) / sigma[k]);
      total += std::exp(-0.5 * z * z) / (sigma[k] * std::sqrt(2 * M_PI) * std::max(mass, 1e-12));
    }
    return std::log(std::max(total / static_cast<double>(mu.size()), 1e-300));
  }

  double sample(Rng& rng) const {
    const size_t k = rng.below(static_cast<uint32_t>(mu.size()));
    for (int attempt = 0; attempt < 100; ++attempt) {
      const double x = mu[k] + sigma[k] * rng.normal();
      if (x >= low && x <= high) return x;
    }
    return std::clamp(mu[k], low, high);
  }
};

double to_model(const SpaceParam& p, double x) {
  return p.log ? std::log(x) : x;
}
double from_model(const SpaceParam& p, double t) {
  return p.log ? std::exp(t) : t;
}

}  // namespace

TpeSampler::TpeSampler(ParamSpace space, TpeOptions options)
    : space_(std::move(space)), options_(options), rng_(options.seed) {
  GRU4REC_CHECK(!space_.params.empty() && options_.candidates > 0 && options_.gamma > 0 &&
                options_.gamma < 1);
}

std::vector<double> TpeSampler::random_point() {
  std::vector<double> point;
  for (const SpaceParam& p : space_.params) {
    if (p.type == SpaceParam::Type::kCategorical) {
      point.push_back(rng_.below(static_cast<uint32_t>(p.choices.size())));
      continue;
    }
    // Uniform over the grid (or the range) on the parameter's scale.
    const double lo = to_model(p, p.low), hi = to_model(p, p.high);
    double t = lo + (hi - lo) * rng_.uniform();
    if (p.step > 0 && !p.log) {
      const auto steps = static_cast<uint32_t>(std::floor((p.high - p.low) / p.step + 1e-9));
      t = p.low + rng_.below(steps + 1) * p.step;
    }
    point.push_back(p.snap(from_model(p, t)));
  }
  return point;
}

std::vector<double> TpeSampler::propose(const std::vector<Trial>& history) {
  if (static_cast<int>(history.size()) < options_.startup_trials) return random_point();
  // Best first; failed trials (NaN) last.
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), 0);
  const auto key = [&](size_t i) {
    const double v = history[i].objective;
    return std::isnan(v) ? -std::numeric_limits<double>::infinity() : v;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
  const auto n_good = static_cast<size_t>(
      std::clamp(std::ceil(options_.gamma * static_cast<double>(history.size())), 1.0, 25.0));
  std::vector<double> point;
  for (size_t p = 0; p < space_.params.size(); ++p) {
    std::vector<double> good, bad;
    for (size_t r = 0; r < order.size(); ++r) {
      GRU4REC_CHECK(history[order[r]].values.size() == space_.params.size());
      (r < n_good ? good : bad).push_back(history[order[r]].values[p]);
    }
    point.push_back(space_.params[p].type == SpaceParam::Type::kCategorical
                        ? propose_categorical(p, good, bad)
                        : propose_numeric(p, good, bad));
  }
  return point;
}

double TpeSampler::propose_numeric(size_t index, const std::vector<double>& good,
                                   const std::vector<double>& bad) {
  const SpaceParam& p = space_.params[index];
  const double lo = to_model(p, p.low), hi = to_model(p, p.high);
  const auto transform = [&](const std::vector<double>& values) {
    std::vector<double> t;
    for (double v : values) t.push_back(to_model(p, std::clamp(v, p.low, p.high)));
    return t;
  };
  const Parzen l = Parzen::fit(transform(good), lo, hi);
  const Parzen g = Parzen::fit(transform(bad), lo, hi);
  double best = l.sample(rng_), best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < options_.candidates; ++c) {
    const double x = l.sample(rng_);
    const double score = l.log_pdf(x) - g.log_pdf(x);
    if (score > best_score) {
      best_score = score;
      best = x;
    }
  }
  return p.snap(from_model(p, best));
}

double TpeSampler::propose_categorical(size_t index, const std::vector<double>& good,
                                       const std::vector<double>& bad) {
  const size_t n = space_.params[index].choices.size();
  // Counts plus one (the prior), normalised.
  const auto distribution = [&](const std::vector<double>& values) {
    std::vector<double> weights(n, 1.0);
    for (double v : values) weights[std::min(static_cast<size_t>(v), n - 1)] += 1.0;
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    for (double& w : weights) w /= total;
    return weights;
  };
  const std::vector<double> l = distribution(good), g = distribution(bad);
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < options_.candidates; ++c) {
    double u = rng_.uniform();
    size_t k = 0;
    while (k + 1 < n && u >= l[k]) u -= l[k++];
    const double score = std::log(l[k]) - std::log(g[k]);
    if (score > best_score) {
      best_score = score;
      best = k;
    }
  }
  return static_cast<double>(best);
}

}  // namespace gru4rec
