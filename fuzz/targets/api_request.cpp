// Requests as the HTTP layer hands them to the application: a method, a path, a query string and
// a body, against a small model, with sessions kept in memory. No request may end in a 500 (an
// unexpected exception), and every answer is well-formed JSON with finite scores.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_targets.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/serve/server.h"

namespace gru4rec::fuzz {
namespace {

ServeApp& app() {
  static std::unique_ptr<ServeApp> instance = [] {
    SyntheticOptions synthetic;
    synthetic.num_items = 40;
    synthetic.num_sessions = 200;
    synthetic.num_topics = 4;
    ItemIndex items;
    const SessionLog log =
        parse_training_log(generate_synthetic_data(synthetic).train_tsv, "t", ReadOptions{}, items);
    Params params;
    apply_param_string(params, "threads=1,layers=8,n_sample=8,batch_size=8");
    const Model model = Model::initialize(params, std::move(items), log, "t");
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("gru4rec_fuzz_" + std::to_string(::getpid()) + ".g4r"))
                                 .string();
    save_model(model, path);
    ServerOptions options;
    options.max_sessions = 2000;  // the fuzzer's sessions stay few
    options.max_k = 50;
    auto made = std::make_unique<ServeApp>(options, path);
    std::filesystem::remove(path);  // loaded: reloads now fail, as they may
    return made;
  }();
  return *instance;
}

void check_scores(const nlohmann::json& body) {
  const auto found = body.find("recommendations");
  if (found == body.end()) return;
  for (const auto& r : *found) FUZZ_CHECK(r.at("score").is_number());
}

}  // namespace

int api_request(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "POST", "DELETE", "PUT"};
  const std::string_view method = kMethods[data[0] & 3];
  const Listener listener = (data[0] & 4) ? Listener::kAdmin : Listener::kPublic;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // The target up to the first newline (paths not starting with '/' go under /v1/sessions/,
  // where most of the parsing is); the rest is the body.
  const size_t newline = input.find('\n');
  std::string target(input.substr(0, newline));
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  if (target.empty() || target[0] != '/') target = "/v1/sessions/" + target;
  const size_t question = target.find('?');
  const std::string path = target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
  if (listener == Listener::kAdmin && path == "/admin/reload") return 0;  // a file read, no parsing
  const Response r = app().handle(method, path, query, body, listener);
  FUZZ_CHECK(r.status >= 200 && r.status < 600 && r.status != 500);
  if (r.content_type == "application/json") {
    const nlohmann::json json = nlohmann::json::parse(r.body, nullptr, false);
    FUZZ_CHECK(!json.is_discarded());
    // Every error is {"error": {"status": N, "message": ...}} with its own status (but /ready's
    // 503 while the server drains, which says why in its own fields).
    if (json.contains("error")) FUZZ_CHECK(json["error"].at("status") == r.status);
    if (r.status >= 400 && path != "/ready") FUZZ_CHECK(json.contains("error"));
    check_scores(json);
  }
  return 0;
}

}  // namespace gru4rec::fuzz
