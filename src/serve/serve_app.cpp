#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/baseline_recommender.h"
#include "gru4rec/serve/server.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

// A 4xx answer: thrown by the handlers, turned into a JSON error by handle().
struct BadRequest {
  int status;
  std::string message;
};

Response json_response(const Json& body, int status = 200) {
  return Response{status, "application/json",
                  body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

// A model's identity in answers: its content id in hex (a JSON number would lose bits).
std::string model_id_text(uint64_t content_id) {
  return fmt::format("{:016x}", content_id);
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) low = 0xA0;   // overlong below U+0800
      if (c == 0xED) high = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) low = 0x90;   // overlong below U+10000
      if (c == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;  // a continuation byte, C0/C1 (overlong) or F5-FF
    }
    if (i + extra >= text.size()) return false;  // cut short
    if (byte(i + 1) < low || byte(i + 1) > high) return false;
    for (size_t k = 2; k <= extra; ++k) {
      if ((byte(i + k) >> 6) != 0x2) return false;
    }
    i += extra + 1;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Code points an id cannot hold although they are valid UTF-8: C1 controls, line and paragraph
// separators (U+0085, U+2028, U+2029 end lines in logs and JavaScript), the marks and
// overrides that reorder displayed text (U+061C, U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069: an id that reads one way and is another), zero-width characters and the byte
// order mark (U+200B-U+200D, U+2060, U+FEFF: invisible), and the noncharacters U+FFFE/U+FFFF.
bool forbidden_in_id(uint32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF ||
         c == 0xFFFE || c == 0xFFFF;
}

// Whether valid UTF-8 `text` holds a code point forbidden_in_id.
bool has_forbidden_code_point(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const size_t length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4;
    uint32_t c = length == 1 ? byte : byte & (0x7F >> length);
    for (size_t k = 1; k < length; ++k)
      c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if (forbidden_in_id(c)) return true;
    i += length;
  }
  return false;
}

// The session id from its raw path segment: percent-decoded (only %XX with two hex digits),
// then checked: not empty, not too long, no '/', no control characters, strict UTF-8 without
// the invisible or reordering code points above. So an id has one spelling: what is stored is
// what is echoed, logged and what DELETE can name.
std::string checked_session_id(std::string_view raw, size_t max_bytes) {
  std::string id;
  id.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      id += raw[i];
      continue;
    }
    const int high = i + 2 < raw.size() ? hex_value(raw[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(raw[i + 2]) : -1;
    if (low < 0) throw BadRequest{400, "the session id has a '%' not followed by two hex digits"};
    id += static_cast<char>(high * 16 + low);
    i += 2;
  }
  if (id.empty()) throw BadRequest{400, "the session id is empty"};
  if (id.size() > max_bytes)
    throw BadRequest{400, fmt::format("the session id has {} bytes; at most {} are allowed",
                                      id.size(), max_bytes)};
  for (const char c : id) {
    if (c == '/') throw BadRequest{400, "the session id cannot contain '/'"};
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      throw BadRequest{400, "the session id cannot contain control characters"};
  }
  if (!valid_utf8(id)) throw BadRequest{400, "the session id is not valid UTF-8"};
  if (has_forbidden_code_point(id)) {
    throw BadRequest{400,
                     "the session id cannot contain invisible, line-breaking or text-reordering "
                     "characters (C1 controls, U+2028, U+2029, bidirectional marks, BOM)"};
  }
  return id;
}

// A JSON object body. One rule for duplicate keys at any depth: refused (a 400), since parsers
// disagree on which of them counts.
Json parse_body(std::string_view body) {
  if (body.empty()) throw BadRequest{400, "the request body is empty; expected a JSON object"};
  // JSON has no raw NUL anywhere, and the parser would take one for the end of the text: a body
  // with a NUL would be read as what precedes it, whatever follows (another object, a key
  // twice) and whatever a proxy before us made of it.
  if (body.find('\0') != std::string_view::npos)
    throw BadRequest{400, "the request body holds a NUL byte; JSON has none"};
  std::vector<std::vector<std::string>> keys;  // of each open object
  std::string duplicate;
  const auto check_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::key) {
      keys.back().push_back(parsed.get<std::string>());
    } else if (event == Json::parse_event_t::object_end) {
      // Sorted, not hashed: a body crafted to collide cannot make this quadratic.
      std::vector<std::string>& names = keys.back();
      std::sort(names.begin(), names.end());
      const auto same = std::adjacent_find(names.begin(), names.end());
      if (same != names.end() && duplicate.empty()) duplicate = *same;
      keys.pop_back();
    }
    return true;
  };
  Json json = Json::parse(body, check_keys, false);
  if (json.is_discarded())
    throw BadRequest{400, "the request body is not valid JSON (or not UTF-8)"};
  if (!duplicate.empty())
    throw BadRequest{400, fmt::format("the key '{}' appears twice in an object", duplicate)};
  if (!json.is_object()) throw BadRequest{400, "the request body must be a JSON object"};
  return json;
}

std::string item_text(const Json& value, std::string_view field) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  throw BadRequest{400, fmt::format("'{}' must hold item ids (strings or integers)", field)};
}

// A list of item ids from `field` of `json` (absent: empty).
std::vector<std::string> item_list(const Json& json, const char* field, size_t max_items) {
  std::vector<std::string> items;
  const auto found = json.find(field);
  if (found == json.end()) return items;
  if (!found->is_array())
    throw BadRequest{400, fmt::format("'{}' must be an array of item ids", field)};
  if (found->size() > max_items)
    throw BadRequest{400, fmt::format("'{}' has {} items; at most {} are allowed", field,
                                      found->size(), max_items)};
  for (const Json& value : *found) items.push_back(item_text(value, field));
  return items;
}

size_t checked_k(int64_t k, size_t max_k) {
  if (k < 1 || static_cast<size_t>(k) > max_k)
    throw BadRequest{400, fmt::format("k must be an integer from 1 to {}; got {}", max_k, k)};
  return static_cast<size_t>(k);
}

size_t k_of(const Json& json, size_t max_k) {
  const auto found = json.find("k");
  if (found == json.end()) return std::min<size_t>(20, max_k);
  if (!found->is_number_integer()) throw BadRequest{400, "k must be an integer"};
  // Above INT64_MAX the value is unsigned: reported as given, not wrapped to a negative.
  if (found->is_number_unsigned() && found->get<uint64_t>() > max_k) {
    throw BadRequest{400, fmt::format("k must be an integer from 1 to {}; got {}", max_k,
                                      found->get<uint64_t>())};
  }
  return checked_k(found->get<int64_t>(), max_k);
}

bool flag_of(const Json& json, const char* field) {
  const auto found = json.find(field);
  if (found == json.end()) return false;
  if (!found->is_boolean()) throw BadRequest{400, fmt::format("'{}' must be true or false", field)};
  return found->get<bool>();
}

// What a request asks for beyond its events.
struct Selection {
  size_t k = 20;
  bool exclude_seen = false;
  std::vector<int32_t> exclude, include;
  std::vector<std::string> unknown;  // ids of the request that the model does not know
};

Selection selection_of(const Json& json, const SessionModel& rec, const ServerOptions& options) {
  Selection s;
  s.k = k_of(json, options.max_k);
  s.exclude_seen = flag_of(json, "exclude_seen");
  for (const std::string& id : item_list(json, "exclude", options.max_request_items)) {
    const int32_t item = rec.find_item(id);
    if (item >= 0) s.exclude.push_back(item);
  }
  for (const std::string& id : item_list(json, "include", options.max_request_items)) {
    const int32_t item = rec.find_item(id);
    if (item >= 0) s.include.push_back(item);
  }
  if (json.contains("include") && s.include.empty())
    throw BadRequest{400, "none of the 'include' items is known to the model"};
  return s;
}

// The request's events: "item" (one id) or "items" (a list).
std::vector<std::string> events_of(const Json& json, size_t max_items) {
  const bool one = json.contains("item"), many = json.contains("items");
  if (one == many) throw BadRequest{400, "give exactly one of 'item' (an id) or 'items' (a list)"};
  if (one) return {item_text(json.at("item"), "item")};
  std::vector<std::string> items = item_list(json, "items", max_items);
  if (items.empty()) throw BadRequest{400, "'items' is empty"};
  return items;
}

Json recommendations_json(const SessionModel& rec, std::span<const ScoredItem> top) {
  Json list = Json::array();
  for (const ScoredItem& s : top)
    list.push_back({{"item", rec.item_id(s.item)}, {"score", s.score}});
  return list;
}

// Top-k for a session (or the popular items when it has no known event yet); `answered`, when
// given, receives the list (valid until the thread's next call).
Json recommend_json(const SessionModel& rec, std::span<const float> state, bool has_events,
                    Selection& selection, std::span<const int32_t> seen,
                    std::span<const ScoredItem>* answered = nullptr) {
  thread_local std::vector<ScoredItem> out;
  thread_local std::vector<int32_t> exclude;
  out.resize(selection.k);
  exclude.assign(selection.exclude.begin(), selection.exclude.end());
  if (selection.exclude_seen) exclude.insert(exclude.end(), seen.begin(), seen.end());
  RecommendOptions options{.k = selection.k, .exclude = exclude, .include = selection.include};
  const size_t n =
      has_events ? rec.recommend(state, seen, options, out) : rec.popular(options, out);
  if (answered != nullptr) *answered = std::span<const ScoredItem>(out.data(), n);
  Json body;
  body["recommendations"] = recommendations_json(rec, std::span(out.data(), n));
  body["popular"] = !has_events;
  body["unknown_items"] = selection.unknown;
  body["model_version"] = rec.version();
  return body;
}

// The value of `key` in a query string (not percent-decoded: the values read here are numbers
// and booleans); nullopt when the key is absent. One rule with JSON bodies: a key given twice
// is refused (a 400), since clients and proxies disagree on which of them counts.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  std::optional<std::string_view> found;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      if (found) throw BadRequest{400, fmt::format("the query key '{}' appears twice", key)};
      found = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return found;
}

// The model's indices of registry items, without those it does not know (-1): an item that
// another model of this process (before a reload, or another variant) or another replica's
// record brought must never reach an index.
void local_items(const SessionModel& rec, std::span<const int32_t> globals,
                 std::vector<int32_t>& out) {
  out.clear();
  for (int32_t global : globals) {
    const int32_t local = rec.to_local(global);
    if (local >= 0) out.push_back(local);
  }
}

}  // namespace

Response error_response(int status, std::string_view message) {
  return json_response(Json{{"error", {{"status", status}, {"message", message}}}}, status);
}

namespace {

// The variants to serve: options.variants, or the one model given.
std::vector<VariantSpec> variants_to_serve(const ServerOptions& options,
                                           const std::string& model_path) {
  if (options.variants.empty()) {
    if (model_path.empty()) throw Error("no model to serve: give MODEL or --variant NAME=MODEL");
    return {VariantSpec{"default", model_path, 1}};
  }
  if (!model_path.empty()) {
    throw Error(
        "give MODEL or --variant, not both (name the model as a variant: --variant "
        "control=MODEL)");
  }
  for (size_t i = 0; i < options.variants.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (options.variants[i].name == options.variants[j].name)
        throw Error(
            fmt::format("--variant: the name '{}' is given twice", options.variants[i].name));
    }
  }
  return options.variants;
}

bool is_redis(const std::string& store) {
  return store.rfind("redis://", 0) == 0;
}

}  // namespace

ServeApp::ServeApp(const ServerOptions& options, std::string model_path)
    : options_(options),
      sessions_(
          is_redis(options.session_store)
              ? std::unique_ptr<SessionStore>(std::make_unique<RedisSessionStore>(
                    parse_redis_url(options.session_store), options.session_ttl_seconds,
                    options.session_store_timeout_seconds, static_cast<const SessionCodec&>(*this)))
              : std::make_unique<MemorySessionStore>(options.max_sessions,
                                                     options.session_ttl_seconds, 64, nullptr,
                                                     options.max_session_memory)) {
  if (options.session_store != "memory" && !is_redis(options.session_store))
    throw Error(fmt::format("--session-store '{}': expected memory or redis://HOST[:PORT][/DB]",
                            options.session_store));
  std::vector<std::string> names;
  std::vector<double> weights;
  for (const VariantSpec& spec : variants_to_serve(options, model_path)) {
    auto variant = std::make_unique<Variant>();
    variant->spec = spec;
    variants_.push_back(std::move(variant));
    names.push_back(spec.name);
    weights.push_back(spec.weight);
  }
  std::optional<RedisAddress> shared;
  if (is_redis(options.session_store)) shared = parse_redis_url(options.session_store);
  // The counters check the experiment's name before it keys the assignment.
  experiment_ = std::make_unique<ExperimentCounters>(options.experiment, std::move(names), shared,
                                                     options.session_store_timeout_seconds);
  assignment_ = std::make_unique<VariantAssignment>(options.experiment, weights);
  reload();
}

SessionRecord ServeApp::to_record(const SessionState& state) const {
  SessionRecord record;
  const std::shared_ptr<const SessionModel> model =
      find_model([&](const SessionModel& m) { return m.version() == state.model_version; });
  record.model_id = model != nullptr ? model->content_id() : 0;
  record.state = state.state;
  record.events = state.events;
  record.answer_events = state.answer_events;
  record.answer = item_ids(state.answer);
  std::shared_lock lock(registry_mutex_);
  for (int32_t global : state.seen) record.items.push_back(registry_.id(global));
  return record;
}

SessionState ServeApp::from_record(const SessionRecord& record) const {
  SessionState state;
  const std::shared_ptr<const SessionModel> model =
      find_model([&](const SessionModel& m) { return m.content_id() == record.model_id; });
  // A state computed by another model (another replica's, or before a reload) is rebuilt from
  // the items by the caller: version 0 matches no model.
  // A GRU state is every layer's hidden vector: each value a mix of tanh outputs, within
  // [-1, 1]. Anything else (3e38 would score as infinity) is not a state this model computed.
  const auto plausible = [](float v) { return std::abs(v) <= 1.0f + 1e-4f; };
  const bool ours = model != nullptr &&
                    record.state.size() == static_cast<size_t>(model->state_size()) &&
                    std::all_of(record.state.begin(), record.state.end(), plausible);
  state.model_version = ours ? model->version() : 0;
  if (ours) state.state = record.state;
  state.events = record.events;
  state.answer_events = record.answer_events;
  std::shared_lock lock(registry_mutex_);
  // Items no model of this process knows cannot be replayed here and are dropped.
  for (const std::string& id : record.items) {
    const int32_t global = registry_.find(id);
    if (global >= 0 && state.seen.size() < SessionState::kMaxSeen) state.seen.push_back(global);
  }
  // In the answer they keep their rank (-1: no item of this process is ever at that rank).
  for (const std::string& id : record.answer) {
    if (state.answer.size() < SessionState::kMaxAnswer) state.answer.push_back(registry_.find(id));
  }
  return state;
}

std::vector<std::string> ServeApp::item_ids(std::span<const int32_t> items) const {
  std::vector<std::string> ids;
  std::shared_lock lock(registry_mutex_);
  for (int32_t global : items) ids.push_back(global >= 0 ? registry_.id(global) : std::string());
  return ids;
}

std::shared_ptr<const SessionModel> ServeApp::load_variant(size_t variant,
                                                           const std::string& source) {
  const std::shared_ptr<const SessionModel> current = model_of(variant);
  if (const std::optional<BaselineSource> baseline = parse_baseline_source(source)) {
    // A FIFO or a device would block the reload (or never end): regular files only.
    require_regular_file(baseline->train_path);
    // Fitted under the registry's lock (it adds its items at the end); reloads are rare.
    std::unique_lock registry_lock(registry_mutex_);
    auto model = std::make_shared<const BaselineRecommender>(
        baseline->algorithm, baseline->params, baseline->train_path, next_version_, registry_);
    if (current != nullptr && current->content_id() == model->content_id()) return nullptr;
    next_version_++;
    return model;
  }
  // Throws on a bad file, and on anything but a regular file of at most max_model_bytes.
  Model loaded = load_model(source, options_.max_model_bytes);
  // Serving needs the weights only: model files carry the optimizer's state by default.
  loaded.optimizer_state.reset();
  auto model = std::make_shared<const Model>(std::move(loaded));
  if (current != nullptr && current->content_id() == model->content_id) return nullptr;
  std::unique_lock registry_lock(registry_mutex_);
  return std::make_shared<const Recommender>(
      model, next_version_++, registry_, options_.item_weights, options_.retrieval,
      std::chrono::microseconds(std::llround(options_.batch_wait_seconds * 1e6)));
}

bool ServeApp::reload(const std::string& path) {
  std::unique_lock lock(reload_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) throw ReloadInProgress();
  // Every variant is loaded before any is swapped in: a failure leaves them all as they were.
  std::vector<std::shared_ptr<const SessionModel>> loaded;
  for (size_t v = 0; v < variants_.size(); ++v) {
    const VariantSpec& spec = variants_[v]->spec;
    loaded.push_back(load_variant(v, v == 0 && !path.empty() ? path : spec.source));
  }
  if (!path.empty()) variants_[0]->spec.source = path;
  bool changed = false;
  for (size_t v = 0; v < variants_.size(); ++v) {
    if (loaded[v] == nullptr) continue;  // the same model: sessions and version stay
    variants_[v]->model.store(std::move(loaded[v]));
    changed = true;
  }
  if (changed) reloads_++;
  return changed;
}

std::shared_ptr<const Recommender> ServeApp::recommender() const {
  return std::dynamic_pointer_cast<const Recommender>(model_of(0));
}

std::shared_ptr<const SessionModel> ServeApp::model_of(size_t variant) const {
  return variants_[variant]->model.load();
}

size_t ServeApp::variant_of(std::string_view session_id) const {
  return variants_.size() == 1 ? 0 : (*assignment_)(session_id);
}

std::shared_ptr<const SessionModel> ServeApp::find_model(
    const std::function<bool(const SessionModel&)>& match) const {
  for (size_t v = 0; v < variants_.size(); ++v) {
    auto model = model_of(v);
    if (model != nullptr && match(*model)) return model;
  }
  return nullptr;
}

Response ServeApp::handle(std::string_view method, std::string_view path, std::string_view query,
                          std::string_view body, Listener listener) {
  try {
    return route(method, path, query, body, listener);
  } catch (const BadRequest& e) {
    return error_response(e.status, e.message);
  } catch (const SessionStoreUnavailable& e) {  // e.g. DELETE while Redis is down
    return error_response(503, e.what());
  } catch (const std::exception& e) {
    return error_response(500, fmt::format("internal error: {}", e.what()));
  }
}

Response ServeApp::route(std::string_view method, std::string_view path, std::string_view query,
                         std::string_view body, Listener listener) {
  constexpr std::string_view kSessions = "/v1/sessions/";
  if (path.substr(0, kSessions.size()) == kSessions) {
    // Split the raw path first, then decode the id: an encoded '/' stays inside the id (and
    // is refused there) instead of making another route.
    const std::string_view rest = path.substr(kSessions.size());
    const size_t slash = rest.find('/');
    const std::string_view raw_id = rest.substr(0, slash);
    const std::string_view suffix = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (suffix == "/events") {
      if (method != "POST") return error_response(405, "use POST for events");
      return session_events(checked_session_id(raw_id, options_.max_session_id_bytes), body);
    }
    if (suffix == "/recommendations") {
      if (method != "GET") return error_response(405, "use GET for recommendations");
      return session_recommendations(checked_session_id(raw_id, options_.max_session_id_bytes),
                                     query);
    }
    if (suffix.empty()) {
      if (method != "DELETE") return error_response(405, "use DELETE to end a session");
      return session_delete(checked_session_id(raw_id, options_.max_session_id_bytes));
    }
    return error_response(404, "unknown path; see /openapi.json");
  }
  if (listener == Listener::kAdmin && path == "/admin/reload") {
    if (method != "POST") return error_response(405, "use POST");
    return admin_reload();
  }
  if (path == "/v1/recommend") {
    if (method != "POST") return error_response(405, "use POST for /v1/recommend");
    return stateless(body);
  }
  if (path == "/health") {
    if (method != "GET") return error_response(405, "use GET");
    return json_response(Json{{"status", "ok"}});
  }
  if (path == "/ready") {
    if (method != "GET") return error_response(405, "use GET");
    if (draining()) return json_response(Json{{"ready", false}, {"reason", "shutting down"}}, 503);
    const bool ready = model_of(0) != nullptr;
    return json_response(Json{{"ready", ready}}, ready ? 200 : 503);
  }
  if (path == "/metrics") {
    if (method != "GET") return error_response(405, "use GET");
    return Response{200, "text/plain; version=0.0.4", metrics_text()};
  }
  if (path == "/v1/model") {
    if (method != "GET") return error_response(405, "use GET");
    return model_summary();
  }
  if (path == "/v1/experiments") {
    if (method != "GET") return error_response(405, "use GET");
    return experiments();
  }
  if (path == "/openapi.json") {
    if (method != "GET") return error_response(405, "use GET");
    return Response{200, "application/json", std::string(openapi_document())};
  }
  return error_response(404, "unknown path; see /openapi.json");
}

namespace {
double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Response ServeApp::admin_reload() {
  // A failed reload holds the next ones off for a second: a loop of them (a script gone wrong,
  // or a token in the wrong hands) cannot keep the process reading model files.
  constexpr double kAfterFailure = 1.0;
  if (steady_now() < admin_reload_after_.load())
    return error_response(429, "the last reload failed less than a second ago; retry later");
  const auto failed = [&](int status, const std::exception& e) {
    admin_reload_after_.store(steady_now() + kAfterFailure);
    log(fmt::format(
        "Reload through the admin listener failed, still serving the previous model: {}",
        e.what()));
    return error_response(status, fmt::format("the model was not reloaded: {}", e.what()));
  };
  bool changed = false;
  try {
    changed = reload();
  } catch (const ReloadInProgress&) {
    return error_response(409, "another reload is running; retry when it is done");
  } catch (const Error& e) {
    return failed(422, e);
  } catch (const std::exception& e) {  // e.g. out of memory with both models loaded
    return failed(503, e);
  }
  const std::shared_ptr<const SessionModel> rec = model_of(0);
  if (changed)
    log(fmt::format("Reloaded through the admin listener (model version {})", rec->version()));
  Json out{{"reloaded", changed},
           {"model_version", rec->version()},
           {"model_id", model_id_text(rec->content_id())}};
  if (variants_.size() > 1) out["variants"] = variants_json();
  return json_response(out);
}

Response ServeApp::session_events(std::string_view id, std::string_view body) {
  const auto start = std::chrono::steady_clock::now();
  const Json json = parse_body(body);
  const std::vector<std::string> events = events_of(json, options_.max_request_items);
  const size_t variant = variant_of(id);
  const std::shared_ptr<const SessionModel> rec = model_of(variant);
  Selection selection = selection_of(json, *rec, options_);
  thread_local std::vector<int32_t> known;
  known.clear();
  for (const std::string& event : events) {
    const int32_t item = rec->find_item(event);
    if (item >= 0)
      known.push_back(item);
    else
      selection.unknown.push_back(event);
  }
  VariantCounts counts;
  counts[VariantCounts::kEvents] = events.size();
  counts[VariantCounts::kUnknownItems] = selection.unknown.size();
  // What the session store's update counts (a new session, a measured event).
  const auto forget_session_counts = [&] {
    counts[VariantCounts::kSessions] = counts[VariantCounts::kMeasured] = 0;
    std::fill_n(&counts[VariantCounts::kHit1], VariantCounts::kMaxRank, 0);
  };
  // Counts the request and answers it (`events_after_request`: the session's known events).
  std::span<const ScoredItem> answered;
  const auto answer = [&](Json out, std::span<const int32_t> seen, uint64_t events_after_request) {
    if (out["popular"] == false && !out["degraded"].get<bool>()) {
      // The list the session's next event is measured against.
      thread_local std::vector<int32_t> top;
      top.clear();
      for (const ScoredItem& r :
           answered.first(std::min(answered.size(), SessionState::kMaxAnswer)))
        top.push_back(rec->to_global(r.item));
      try {
        sessions_->save_answer(id, events_after_request, top);
      } catch (const SessionStoreUnavailable&) {
        // Not kept: the next event is not measured (the answer itself went out).
      }
    }
    out["session"] = id;
    out["session_events"] = seen.size();
    out["variant"] = variants_[variant]->spec.name;
    counts.add_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    experiment_->add(variant, counts);
    return json_response(out);
  };
  thread_local std::vector<float> state;
  thread_local std::vector<int32_t> seen;
  bool rebuilt = false, created = false, stale = false;
  uint64_t events_after = 0;
  try {
    sessions_->update(id, [&](SessionState& session, bool is_new) {
      created = is_new;
      forget_session_counts();  // set, not added: the store may retry
      counts[VariantCounts::kSessions] = is_new ? 1 : 0;
      if (!is_new && session.model_version != rec->version() &&
          session.model_version == model_of(variant)->version()) {
        // A reload happened after this request read the model, and another request has moved
        // the session to the new one: redo this request with the new model.
        stale = true;
        return;
      }
      if (is_new || session.model_version != rec->version()) {
        // A new session, or one whose state another model computed: start from zeros and replay
        // the items it has seen (those this model knows).
        rebuilt = !is_new;
        if (rebuilt) {
          rebuild(session, *rec);
        } else {
          session.state.assign(static_cast<size_t>(rec->state_size()), 0.0f);
          session.model_version = rec->version();
        }
      }
      if (!known.empty() && !session.answer.empty() && session.answer_events == session.events) {
        // The first event of the request against what was answered at the previous one.
        counts[VariantCounts::kMeasured] = 1;
        const auto hit =
            std::find(session.answer.begin(), session.answer.end(), rec->to_global(known.front()));
        if (hit != session.answer.end())
          counts[VariantCounts::kHit1 + static_cast<size_t>(hit - session.answer.begin())] = 1;
      }
      for (int32_t item : known) {
        rec->advance(session.state, item);
        if (session.seen.size() == SessionState::kMaxSeen) session.seen.erase(session.seen.begin());
        session.seen.push_back(rec->to_global(item));
        session.events++;
      }
      events_after = session.events;
      state.assign(session.state.begin(), session.state.end());
      local_items(*rec, session.seen, seen);
    });
  } catch (const SessionStoreUnavailable&) {
    // The shared store is down or slow: answer from this request's events alone.
    degraded_++;
    counts[VariantCounts::kDegraded] = 1;
    forget_session_counts();
    state.assign(static_cast<size_t>(rec->state_size()), 0.0f);
    for (int32_t item : known) rec->advance(state, item);
    seen.assign(known.begin(), known.end());
    Json out = recommend_json(*rec, state, !seen.empty(), selection, seen, &answered);
    out["degraded"] = true;
    return answer(std::move(out), seen, 0);
  }
  if (stale) return session_events(id, body);
  Json out = recommend_json(*rec, state, !seen.empty(), selection, seen, &answered);
  out["created"] = created;
  out["state_rebuilt"] = rebuilt;
  out["degraded"] = false;
  return answer(std::move(out), seen, events_after);
}

Response ServeApp::session_recommendations(std::string_view id, std::string_view query) {
  const size_t variant = variant_of(id);
  const std::shared_ptr<const SessionModel> rec = model_of(variant);
  Selection selection;
  selection.k = std::min<size_t>(20, options_.max_k);
  if (const auto k_value = query_value(query, "k")) {
    const std::string_view k_text = *k_value;
    int64_t k = 0;
    const auto [end, error] = std::from_chars(k_text.data(), k_text.data() + k_text.size(), k);
    if (error != std::errc() || end != k_text.data() + k_text.size()) {
      throw BadRequest{400, fmt::format("k must be an integer from 1 to {}", options_.max_k)};
    }
    selection.k = checked_k(k, options_.max_k);
  }
  // One rule for booleans, as in JSON bodies: `true` or `false`, nothing else ("1", "True" and
  // "yes" are refused rather than read as false).
  if (const auto flag = query_value(query, "exclude_seen")) {
    if (*flag != "true" && *flag != "false")
      throw BadRequest{400, "exclude_seen must be true or false"};
    selection.exclude_seen = *flag == "true";
  }
  SessionState session;
  bool found = false, degraded = false;
  try {
    found = sessions_->get(id, session);
  } catch (const SessionStoreUnavailable&) {
    degraded = true;  // the popular items, marked degraded
    degraded_++;
  }
  bool usable = found && session.model_version == rec->version();
  if (found && !usable) {
    // Computed by an older model: rebuild it (on a copy; the stored one is rebuilt by its
    // next event).
    rebuild(session, *rec);
    usable = true;
  }
  std::vector<int32_t> seen;
  local_items(*rec, session.seen, seen);
  Json out = recommend_json(*rec, session.state, usable && !seen.empty(), selection, seen);
  out["session"] = id;
  out["session_found"] = found;
  out["degraded"] = degraded;
  out["variant"] = variants_[variant]->spec.name;
  return json_response(out);
}

void ServeApp::rebuild(SessionState& session, const SessionModel& rec) const {
  std::vector<int32_t> replay;
  for (int32_t global : session.seen) {
    if (rec.to_local(global) >= 0) replay.push_back(global);
  }
  session.state.assign(static_cast<size_t>(rec.state_size()), 0.0f);
  session.model_version = rec.version();
  session.seen = std::move(replay);
  for (int32_t global : session.seen) rec.advance(session.state, rec.to_local(global));
}

Response ServeApp::session_delete(std::string_view id) {
  if (!sessions_->erase(id)) {
    // The error answer of every failed request (the id as JSON text: escaped).
    return error_response(404, fmt::format("no session {} (never started, deleted or expired)",
                                           Json(std::string(id)).dump()));
  }
  return json_response(Json{{"session", id}, {"deleted", true}});
}

Response ServeApp::stateless(std::string_view body) {
  const Json json = parse_body(body);
  size_t variant = 0;
  if (const auto named = json.find("variant"); named != json.end()) {
    if (!named->is_string()) throw BadRequest{400, "'variant' must be a variant's name"};
    while (variant < variants_.size() && variants_[variant]->spec.name != named->get<std::string>())
      ++variant;
    if (variant == variants_.size())
      throw BadRequest{
          404, fmt::format("no variant named '{}'; see /v1/model", named->get<std::string>())};
  }
  const std::shared_ptr<const SessionModel> rec = model_of(variant);
  Selection selection = selection_of(json, *rec, options_);
  std::vector<std::string> events = item_list(json, "items", options_.max_request_items);
  if (!json.contains("items")) throw BadRequest{400, "'items' (the session's item ids) is missing"};
  std::vector<float> state(static_cast<size_t>(rec->state_size()), 0.0f);
  std::vector<int32_t> seen;
  for (const std::string& event : events) {
    const int32_t item = rec->find_item(event);
    if (item < 0) {
      selection.unknown.push_back(event);
      continue;
    }
    rec->advance(state, item);
    seen.push_back(item);
  }
  Json out = recommend_json(*rec, state, !seen.empty(), selection, seen);
  out["variant"] = variants_[variant]->spec.name;
  return json_response(out);
}

Json ServeApp::variants_json() const {
  Json list = Json::array();
  for (size_t v = 0; v < variants_.size(); ++v) {
    const std::shared_ptr<const SessionModel> model = model_of(v);
    list.push_back(Json{{"name", variants_[v]->spec.name},
                        {"weight", variants_[v]->spec.weight},
                        {"model", model->description()},
                        {"model_id", model_id_text(model->content_id())},
                        {"model_version", model->version()},
                        {"items", model->num_items()}});
  }
  return list;
}

Response ServeApp::model_summary() const {
  // The first variant's model (the only one without an A/B test), then every variant.
  const std::shared_ptr<const SessionModel> first = model_of(0);
  Json out{{"model_id", model_id_text(first->content_id())},
           {"model_version", first->version()},
           {"model", first->description()},
           {"items", first->num_items()}};
  if (const auto rec = recommender()) {
    const Model& m = rec->model();
    Json layers = Json::array();
    for (int size : m.params.layers) layers.push_back(size);
    out["layers"] = layers;
    out["loss"] = std::string(loss_name(m.params.loss));
    out["parameters"] = m.weights.parameter_count();
    out["epochs"] = m.stats.epochs;
    out["training_events"] = m.stats.events;
  }
  // No file path in public answers: the id says which model this is.
  out["item_weights"] = weight_precision_name(options_.item_weights);
  out["live_sessions"] = sessions_->size();
  out["experiment"] = experiment_->experiment();
  out["variants"] = variants_json();
  return json_response(out);
}

Response ServeApp::experiments() {
  std::optional<std::vector<VariantCounts>> totals;
  try {
    totals = experiment_->totals();
  } catch (const Error& e) {
    return error_response(503,
                          fmt::format("the experiment's statistics are unavailable: {}", e.what()));
  }
  if (!totals) {
    return error_response(503, "the experiment's shared counters (Redis) cannot be reached");
  }
  const auto interval = [](const auto& e) { return Json::array({e.low, e.high}); };
  Json variants = Json::array();
  for (size_t v = 0; v < variants_.size(); ++v) {
    const VariantCounts& c = (*totals)[v];
    const Estimate hr = hit_rate(c), mrr = mean_reciprocal_rank(c);
    const uint64_t requests = c.requests();
    variants.push_back(
        Json{{"name", variants_[v]->spec.name},
             {"weight", variants_[v]->spec.weight},
             {"model", model_of(v)->description()},
             {"events", c[VariantCounts::kEvents]},
             {"unknown_items", c[VariantCounts::kUnknownItems]},
             {"measured", c[VariantCounts::kMeasured]},
             {"hits", c.hits()},
             {"hits_by_rank", std::vector<uint64_t>(c.values.begin() + VariantCounts::kHit1,
                                                    c.values.begin() + VariantCounts::kLatency0)},
             {"sessions", c[VariantCounts::kSessions]},
             {"degraded", c[VariantCounts::kDegraded]},
             {"hit_rate", {{"value", hr.value}, {"ci95", interval(hr)}}},
             {"mrr", {{"value", mrr.value}, {"ci95", interval(mrr)}}},
             {"latency_seconds",
              {{"requests", requests},
               {"mean", requests > 0 ? static_cast<double>(c[VariantCounts::kLatencyMicros]) / 1e6 /
                                           static_cast<double>(requests)
                                     : 0.0},
               {"p50_at_most", c.latency_quantile(0.5)},
               {"p99_at_most", c.latency_quantile(0.99)}}}});
  }
  // Every other variant against the first (the control).
  Json comparisons = Json::array();
  for (size_t v = 1; v < variants_.size(); ++v) {
    const Difference hr = hit_rate_difference((*totals)[0], (*totals)[v]);
    const Difference mrr = mrr_difference((*totals)[0], (*totals)[v]);
    comparisons.push_back(
        Json{{"variant", variants_[v]->spec.name},
             {"control", variants_[0]->spec.name},
             {"hit_rate_difference",
              {{"value", hr.value}, {"ci95", interval(hr)}, {"p_value", hr.p_value}}},
             {"mrr_difference",
              {{"value", mrr.value}, {"ci95", interval(mrr)}, {"p_value", mrr.p_value}}}});
  }
  return json_response(
      Json{{"experiment", experiment_->experiment()},
           {"counted_by", experiment_->shared() ? "every replica" : "this process"},
           {"k_max", VariantCounts::kMaxRank},
           {"variants", variants},
           {"comparisons", comparisons}});
}

void ServeApp::record(int status, double seconds) {
  requests_++;
  if (status >= 500)
    server_errors_++;
  else if (status >= 400)
    client_errors_++;
  size_t bucket = 0;
  while (bucket < kBuckets && seconds > kLatencyBounds[bucket]) ++bucket;
  latency_buckets_[bucket]++;
  latency_micros_sum_ += static_cast<uint64_t>(seconds * 1e6);
}

std::string ServeApp::metrics_text() const {
  std::string text;
  auto add = [&](std::string line) {
    text += line;
    text += '\n';
  };
  // A metric without labels: its help, its type and its value.
  const auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    add(fmt::format("# HELP {} {}", name, help));
    add(fmt::format("# TYPE {} {}", name, type));
    add(fmt::format("{} {}", name, value));
  };
  metric("gru4rec_requests_total", "counter", "HTTP requests handled.", requests_.load());
  add("# HELP gru4rec_errors_total Requests answered with an error status.");
  add("# TYPE gru4rec_errors_total counter");
  add(fmt::format("gru4rec_errors_total{{class=\"4xx\"}} {}", client_errors_.load()));
  add(fmt::format("gru4rec_errors_total{{class=\"5xx\"}} {}", server_errors_.load()));
  add("# HELP gru4rec_request_seconds Time to handle a request.");
  add("# TYPE gru4rec_request_seconds histogram");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    cumulative += latency_buckets_[b].load();
    add(fmt::format("gru4rec_request_seconds_bucket{{le=\"{}\"}} {}", kLatencyBounds[b],
                    cumulative));
  }
  cumulative += latency_buckets_[kBuckets].load();
  add(fmt::format("gru4rec_request_seconds_bucket{{le=\"+Inf\"}} {}", cumulative));
  add(fmt::format("gru4rec_request_seconds_sum {}",
                  static_cast<double>(latency_micros_sum_.load()) / 1e6));
  add(fmt::format("gru4rec_request_seconds_count {}", cumulative));
  metric("gru4rec_live_sessions", "gauge", "Sessions held in memory.", sessions_->size());
  metric("gru4rec_sessions_created_total", "counter", "Sessions created.", sessions_->created());
  metric("gru4rec_session_evictions_total", "counter",
         "Sessions evicted to respect --max-sessions.", sessions_->evictions());
  metric("gru4rec_session_bytes", "gauge", "Memory the session store estimates it takes.",
         sessions_->bytes());
  metric("gru4rec_open_connections", "gauge", "HTTP connections open now.",
         open_connections_.load());
  metric("gru4rec_refused_connections_total", "counter",
         "Connections refused by --max-connections.", refused_connections_.load());
  metric("gru4rec_degraded_total", "counter",
         "Answers from the request alone (session store unreachable).", degraded_.load());
  metric("gru4rec_shed_requests_total", "counter",
         "Requests answered 503 (queue full or deadline).", shed_requests_.load());
  add("# HELP gru4rec_model_info The model being served.");
  add("# TYPE gru4rec_model_info gauge");
  for (size_t v = 0; v < variants_.size(); ++v) {
    const auto rec = model_of(v);
    add(fmt::format("gru4rec_model_info{{variant=\"{}\",version=\"{}\",items=\"{}\"}} 1",
                    variants_[v]->spec.name, rec->version(), rec->num_items()));
  }
  metric("gru4rec_model_reloads_total", "counter", "Models loaded (the first one included).",
         reloads_.load());
  // Per variant served by a GRU4Rec model with exact retrieval: passes over the item matrix and
  // the requests they scored (their ratio is the mean batch size; since its last load).
  add("# HELP gru4rec_scoring_passes_total Passes over the item matrix (batches scored).");
  add("# TYPE gru4rec_scoring_passes_total counter");
  std::string scored_requests;
  for (size_t v = 0; v < variants_.size(); ++v) {
    const auto rec = std::dynamic_pointer_cast<const Recommender>(model_of(v));
    if (rec == nullptr) continue;
    add(fmt::format("gru4rec_scoring_passes_total{{variant=\"{}\"}} {}", variants_[v]->spec.name,
                    rec->batches_scored()));
    scored_requests += fmt::format("gru4rec_scored_requests_total{{variant=\"{}\"}} {}\n",
                                   variants_[v]->spec.name, rec->requests_scored());
  }
  add("# HELP gru4rec_scored_requests_total Requests scored by those passes.");
  add("# TYPE gru4rec_scored_requests_total counter");
  text += scored_requests;
  // Per variant, what this process measured (Prometheus sums the replicas; /v1/experiments
  // gives the shared totals and the statistics).
  std::vector<VariantCounts> counts;
  for (size_t v = 0; v < variants_.size(); ++v) counts.push_back(experiment_->local(v));
  const auto per_variant = [&](std::string_view name, std::string_view type, std::string_view help,
                               auto value_of) {
    add(fmt::format("# HELP {} {}", name, help));
    add(fmt::format("# TYPE {} {}", name, type));
    for (size_t v = 0; v < variants_.size(); ++v)
      add(fmt::format("{}{{variant=\"{}\"}} {}", name, variants_[v]->spec.name,
                      value_of(counts[v])));
  };
  using C = VariantCounts;
  per_variant("gru4rec_variant_events_total", "counter", "Events received.",
              [](const C& c) { return c[C::kEvents]; });
  per_variant("gru4rec_variant_unknown_items_total", "counter",
              "Events whose item the variant's model does not know.",
              [](const C& c) { return c[C::kUnknownItems]; });
  per_variant("gru4rec_variant_measured_total", "counter",
              "Events measured against the session's previous answer.",
              [](const C& c) { return c[C::kMeasured]; });
  per_variant("gru4rec_variant_hits_total", "counter",
              "Measured events whose item was in the previous answer.",
              [](const C& c) { return c.hits(); });
  per_variant("gru4rec_variant_reciprocal_rank_sum", "counter",
              "Sum of 1/rank over measured events (0 for a miss): MRR = this / measured.",
              [](const C& c) { return c.reciprocal_rank_sum(); });
  per_variant("gru4rec_variant_sessions_total", "counter", "Sessions started.",
              [](const C& c) { return c[C::kSessions]; });
  per_variant("gru4rec_variant_degraded_total", "counter", "Answers from the request alone.",
              [](const C& c) { return c[C::kDegraded]; });
  per_variant("gru4rec_variant_event_seconds_sum", "counter", "Time answering event requests.",
              [](const C& c) { return static_cast<double>(c[C::kLatencyMicros]) / 1e6; });
  per_variant("gru4rec_variant_event_seconds_count", "counter", "Event requests answered.",
              [](const C& c) { return c.requests(); });
  return text;
}

}  // namespace gru4rec
