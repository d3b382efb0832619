// gru4rec replay: a test log through a running server as live traffic (serve/replay.h), and
// what the server measured of it, per variant.
#include <fmt/format.h>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/serve/experiment.h"
#include "gru4rec/serve/replay.h"

namespace gru4rec::cli {
namespace {

struct ReplayCommandOptions {
  std::string test_path;
  ReplayOptions replay;
  bool json = false;
  DataOptions data;
};

void run_replay(const ReplayCommandOptions& o) {
  const Output out{.json = o.json};
  check_server_url(o.replay.server);
  // Every event is sent, known to the model or not: the server counts unknown items apart.
  ItemIndex items;
  const SessionLog log = read_training_log(o.test_path, o.data.read_options(), items);
  const int64_t sessions =
      o.replay.sessions > 0 ? std::min(o.replay.sessions, log.num_sessions()) : log.num_sessions();
  if (o.replay.rate > 0) {
    fmt::print(out.log(),
               "Replaying {} sessions of {} to {}, open loop: {:g} events/s offered {} on {} "
               "connections\n",
               with_thousands(sessions), o.test_path, o.replay.server, o.replay.rate,
               o.replay.duration_seconds > 0
                   ? fmt::format("for {:g} s", o.replay.duration_seconds)
                   : fmt::format("for one pass ({} events)",
                                 with_thousands(log.offsets[static_cast<size_t>(sessions)])),
               o.replay.concurrency);
  } else {
    fmt::print(out.log(), "Replaying {} sessions ({} events) of {} to {} on {} connections\n",
               with_thousands(sessions), with_thousands(log.offsets[static_cast<size_t>(sessions)]),
               o.test_path, o.replay.server, o.replay.concurrency);
  }
  std::fflush(out.log());
  const ReplayResult r = replay_log(log, items, o.replay);
  const int k = o.replay.k;
  Json variants = Json::array();
  for (size_t v = 0; v < r.counts.size(); ++v) {
    const VariantCounts& delta = r.counts[v];
    const Estimate hr = hit_rate(delta), mrr = mean_reciprocal_rank(delta);
    variants.push_back(Json{{"name", r.variant_names[v]},
                            {"events", delta[VariantCounts::kEvents]},
                            {"unknown_items", delta[VariantCounts::kUnknownItems]},
                            {"measured", delta[VariantCounts::kMeasured]},
                            {"hits", delta.hits()},
                            {"sessions", delta[VariantCounts::kSessions]},
                            {"degraded", delta[VariantCounts::kDegraded]},
                            {fmt::format("hit_rate@{}", k), hr.value},
                            {fmt::format("mrr@{}", k), mrr.value},
                            {"hit_rate_ci95", {hr.low, hr.high}},
                            {"mrr_ci95", {mrr.low, mrr.high}}});
  }
  // Answers over the whole run, from the first event due (or sent) to the last answer: in the
  // open loop, a server that cannot keep up answers the backlog after the sending time, at its
  // own rate, and that is what it achieves.
  const double per_second = r.seconds > 0 ? static_cast<double>(r.answered) / r.seconds : 0;
  const auto ms = [](double seconds) { return seconds * 1e3; };
  if (o.json) {
    Json replayed{{"sessions", r.sessions},
                  {"events", r.events_sent},
                  {"answered", r.answered},
                  {"failed_requests", r.failed_requests},
                  {"seconds", r.seconds},
                  {"events_per_second", per_second},
                  {"latency_ms",
                   {{"from", r.offered_rate > 0 ? "due" : "sent"},
                    {"count", r.latency.count},
                    {"p50", ms(r.latency.p50)},
                    {"p90", ms(r.latency.p90)},
                    {"p99", ms(r.latency.p99)},
                    {"p99.9", ms(r.latency.p999)},
                    {"max", ms(r.latency.max)}}}};
    if (r.offered_rate > 0) {
      replayed["offered_events_per_second"] = r.offered_rate;
      replayed["sending_seconds"] = r.sending_seconds;
      replayed["late_sends"] = r.late_sends;
    }
    fmt::print("{}\n", json_text(Json{{"test", o.test_path},
                                      {"server", o.replay.server},
                                      {"cutoff", k},
                                      {"replayed", replayed},
                                      {"variants", variants},
                                      {"server_experiments", Json::parse(r.server_experiments)}}));
  } else {
    if (r.offered_rate > 0) {
      fmt::print(
          "Offered {:g} events/s for {:.1f} s: {} answered in {:.1f} s ({:.0f} events/s, {:.1f}% "
          "of offered), {} failed requests, {} sent over 1 ms late\n",
          r.offered_rate, r.sending_seconds, with_thousands(r.answered), r.seconds, per_second,
          100 * per_second / r.offered_rate, r.failed_requests, with_thousands(r.late_sends));
    } else {
      fmt::print("Replayed {} events in {:.1f} s ({:.0f} events/s), {} failed requests\n",
                 with_thousands(r.events_sent), r.seconds, per_second, r.failed_requests);
    }
    fmt::print(
        "Latency (from {}): p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, p99.9 {:.2f} ms, "
        "max {:.2f} ms\n",
        r.offered_rate > 0 ? "when due" : "when sent", ms(r.latency.p50), ms(r.latency.p90),
        ms(r.latency.p99), ms(r.latency.p999), ms(r.latency.max));
    fmt::print("  {:<16} {:>9} {:>9} {:>9}  {:>24}  {:>24}\n", "variant", "events", "unknown",
               "measured", fmt::format("HitRate@{} (95% CI)", k),
               fmt::format("MRR@{} (95% CI)", k));
    for (const Json& v : variants) {
      fmt::print("  {:<16} {:>9} {:>9} {:>9}  {:.4f} ({:.4f}-{:.4f})  {:.4f} ({:.4f}-{:.4f})\n",
                 v["name"].get<std::string>(), v["events"].get<uint64_t>(),
                 v["unknown_items"].get<uint64_t>(), v["measured"].get<uint64_t>(),
                 v[fmt::format("hit_rate@{}", k)].get<double>(),
                 v["hit_rate_ci95"][0].get<double>(), v["hit_rate_ci95"][1].get<double>(),
                 v[fmt::format("mrr@{}", k)].get<double>(), v["mrr_ci95"][0].get<double>(),
                 v["mrr_ci95"][1].get<double>());
    }
    for (size_t v = 1; v < r.counts.size(); ++v) {
      const Difference d = hit_rate_difference(r.counts[0], r.counts[v]);
      const Difference m = mrr_difference(r.counts[0], r.counts[v]);
      fmt::print(
          "  {} - {}: HitRate {:+.4f} ({:+.4f} to {:+.4f}, p = {:.3g}); MRR {:+.4f} "
          "({:+.4f} to {:+.4f}, p = {:.3g})\n",
          r.variant_names[v], r.variant_names[0], d.value, d.low, d.high, d.p_value, m.value, m.low,
          m.high, m.p_value);
    }
  }
  if (r.failed_requests > 0) {
    throw Error(fmt::format("{} requests failed; the first: {}", r.failed_requests, r.first_error));
  }
}

}  // namespace

void add_replay_command(CLI::App& app) {
  auto o = std::make_shared<ReplayCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "replay a test log through a running server, event by event, and print what "
      "the server measured (online HitRate and MRR per variant)");
  cmd->add_option("TEST", o->test_path, "test data (SessionId, ItemId, Time)")->required();
  cmd->add_option("--server", o->replay.server, "the server, http://HOST:PORT")
      ->capture_default_str();
  cmd->add_option("-m,--cutoff", o->replay.k, "k asked for with every event (measured up to 20)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--sessions", o->replay.sessions, "replay the first N sessions (0: all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--concurrency", o->replay.concurrency,
                  "sessions replayed at once, one connection each (with --rate: 256 or more, so "
                  "that a session's events are rarely due before its previous answer)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--rate", o->replay.rate,
                  "open loop: events/s offered, sent on time whatever the answers, latency "
                  "measured from when each was due (0: closed loop, as fast as answered)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--duration", o->replay.duration_seconds,
                  "with --rate: send for this many seconds, replaying the log again as new "
                  "sessions if needed (0: one pass over the sessions)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--session-prefix", o->replay.session_prefix,
                  "prefix of the replayed session ids (default: replay-<random>-, new sessions)");
  cmd->add_flag("--json", o->json, "print the results as JSON");
  o->data.add_to(*cmd);
  cmd->callback([o]() { run_replay(*o); });
}

}  // namespace gru4rec::cli
