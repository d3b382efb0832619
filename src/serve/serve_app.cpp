#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "gru4rec/core/error.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/server.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

// Upper bounds of the latency histogram, in seconds (Prometheus "le" labels).
constexpr double kLatencyBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

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
std::string model_id_text(const Model& model) {
  return fmt::format("{:016x}", model.content_id);
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

// The session id from its raw path segment: percent-decoded (only %XX with two hex digits),
// then checked: not empty, not too long, no '/', no control characters, strict UTF-8. So an id
// has one spelling: what is stored is what is echoed and what DELETE can name.
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
  return id;
}

// A JSON object body. One rule for duplicate keys at any depth: refused (a 400), since parsers
// disagree on which of them counts.
Json parse_body(std::string_view body) {
  if (body.empty()) throw BadRequest{400, "the request body is empty; expected a JSON object"};
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

Selection selection_of(const Json& json, const Recommender& rec, const ServerOptions& options) {
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

Json recommendations_json(const Recommender& rec, std::span<const ScoredItem> top) {
  Json list = Json::array();
  for (const ScoredItem& s : top)
    list.push_back({{"item", rec.item_id(s.item)}, {"score", s.score}});
  return list;
}

// Top-k for a state (or the popular items when the session has no known event yet).
Json recommend_json(const Recommender& rec, std::span<const float> state, bool has_events,
                    Selection& selection, std::span<const int32_t> seen) {
  thread_local std::vector<ScoredItem> out;
  thread_local std::vector<int32_t> exclude;
  out.resize(selection.k);
  exclude.assign(selection.exclude.begin(), selection.exclude.end());
  if (selection.exclude_seen) exclude.insert(exclude.end(), seen.begin(), seen.end());
  RecommendOptions options{.k = selection.k, .exclude = exclude, .include = selection.include};
  const size_t n = has_events ? rec.recommend(state, options, out) : rec.popular(options, out);
  Json body;
  body["recommendations"] = recommendations_json(rec, std::span(out.data(), n));
  body["popular"] = !has_events;
  body["unknown_items"] = selection.unknown;
  body["model_version"] = rec.version();
  return body;
}

// The value of `key` in a query string (not percent-decoded: the values read here are numbers
// and booleans); nullopt when the key is absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

Response error_response(int status, std::string_view message) {
  return json_response(Json{{"error", {{"status", status}, {"message", message}}}}, status);
}

ServeApp::ServeApp(const ServerOptions& options, std::string model_path)
    : options_(options),
      model_path_(std::move(model_path)),
      sessions_(
          options.session_store.rfind("redis://", 0) == 0
              ? std::unique_ptr<SessionStore>(std::make_unique<RedisSessionStore>(
                    parse_redis_url(options.session_store), options.session_ttl_seconds,
                    options.session_store_timeout_seconds, static_cast<const SessionCodec&>(*this)))
              : std::make_unique<MemorySessionStore>(options.max_sessions,
                                                     options.session_ttl_seconds, 64, nullptr,
                                                     options.max_session_memory)) {
  if (options.session_store != "memory" && options.session_store.rfind("redis://", 0) != 0)
    throw Error(fmt::format("--session-store '{}': expected memory or redis://HOST[:PORT][/DB]",
                            options.session_store));
  reload();
}

SessionRecord ServeApp::to_record(const SessionState& state) const {
  SessionRecord record;
  const std::shared_ptr<const Recommender> rec = recommender();
  record.model_id = state.model_version == rec->version() ? rec->model().content_id : 0;
  record.state = state.state;
  std::shared_lock lock(registry_mutex_);
  for (int32_t global : state.seen) record.items.push_back(registry_.id(global));
  return record;
}

SessionState ServeApp::from_record(const SessionRecord& record) const {
  SessionState state;
  const std::shared_ptr<const Recommender> rec = recommender();
  // A state computed by another model (another replica's, or before a reload) is rebuilt from
  // the items by the caller: version 0 matches no model.
  const bool ours = record.model_id == rec->model().content_id &&
                    record.state.size() == static_cast<size_t>(rec->state_size());
  state.model_version = ours ? rec->version() : 0;
  if (ours) state.state = record.state;
  std::shared_lock lock(registry_mutex_);
  // Items no model of this process knows cannot be replayed here and are dropped.
  for (const std::string& id : record.items) {
    const int32_t global = registry_.find(id);
    if (global >= 0 && state.seen.size() < SessionState::kMaxSeen) state.seen.push_back(global);
  }
  return state;
}

bool ServeApp::reload(const std::string& path) {
  std::lock_guard lock(reload_mutex_);
  const std::string& source = path.empty() ? model_path_ : path;
  auto model = std::make_shared<const Model>(load_model(source));  // throws on a bad file
  const std::shared_ptr<const Recommender> current = recommender();
  if (current != nullptr && current->model().content_id == model->content_id) {
    model_path_ = source;
    return false;  // the same model: sessions and version stay
  }
  std::shared_ptr<const Recommender> rec;
  {
    std::unique_lock registry_lock(registry_mutex_);
    rec = std::make_shared<const Recommender>(model, next_version_++, registry_,
                                              options_.item_weights, options_.retrieval);
  }
  recommender_.store(std::move(rec));
  model_path_ = source;
  reloads_++;
  return true;
}

std::shared_ptr<const Recommender> ServeApp::recommender() const {
  return recommender_.load();
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
    const bool ready = recommender() != nullptr;
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
  if (path == "/openapi.json") {
    if (method != "GET") return error_response(405, "use GET");
    return Response{200, "application/json", std::string(openapi_document())};
  }
  return error_response(404, "unknown path; see /openapi.json");
}

Response ServeApp::admin_reload() {
  bool changed = false;
  try {
    changed = reload();
  } catch (const Error& e) {
    return error_response(422, fmt::format("the model was not reloaded: {}", e.what()));
  } catch (const std::exception& e) {  // e.g. out of memory with both models loaded
    return error_response(503, fmt::format("the model was not reloaded: {}", e.what()));
  }
  const std::shared_ptr<const Recommender> rec = recommender();
  return json_response(Json{{"reloaded", changed},
                            {"model_version", rec->version()},
                            {"model_id", model_id_text(rec->model())}});
}

Response ServeApp::session_events(std::string_view id, std::string_view body) {
  const Json json = parse_body(body);
  const std::vector<std::string> events = events_of(json, options_.max_request_items);
  const std::shared_ptr<const Recommender> rec = recommender();
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
  thread_local std::vector<float> state;
  thread_local std::vector<int32_t> seen;
  bool rebuilt = false, created = false, stale = false;
  try {
    sessions_->update(id, [&](SessionState& session, bool is_new) {
      created = is_new;
      if (!is_new && session.model_version > rec->version()) {
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
      for (int32_t item : known) {
        rec->advance(session.state, item);
        if (session.seen.size() == SessionState::kMaxSeen) session.seen.erase(session.seen.begin());
        session.seen.push_back(rec->to_global(item));
      }
      state.assign(session.state.begin(), session.state.end());
      seen.clear();
      for (int32_t global : session.seen) seen.push_back(rec->to_local(global));
    });
  } catch (const SessionStoreUnavailable&) {
    // The shared store is down or slow: answer from this request's events alone.
    degraded_++;
    state.assign(static_cast<size_t>(rec->state_size()), 0.0f);
    for (int32_t item : known) rec->advance(state, item);
    seen.assign(known.begin(), known.end());
    Json out = recommend_json(*rec, state, !seen.empty(), selection, seen);
    out["session"] = id;
    out["degraded"] = true;
    out["session_events"] = seen.size();
    return json_response(out);
  }
  if (stale) return session_events(id, body);
  Json out = recommend_json(*rec, state, !seen.empty(), selection, seen);
  out["session"] = id;
  out["created"] = created;
  out["state_rebuilt"] = rebuilt;
  out["session_events"] = seen.size();
  out["degraded"] = false;
  return json_response(out);
}

Response ServeApp::session_recommendations(std::string_view id, std::string_view query) {
  const std::shared_ptr<const Recommender> rec = recommender();
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
  for (int32_t global : session.seen) seen.push_back(rec->to_local(global));
  Json out = recommend_json(*rec, session.state, usable && !seen.empty(), selection, seen);
  out["session"] = id;
  out["session_found"] = found;
  out["degraded"] = degraded;
  return json_response(out);
}

void ServeApp::rebuild(SessionState& session, const Recommender& rec) const {
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
  const bool found = sessions_->erase(id);
  return json_response(Json{{"session", id}, {"deleted", found}}, found ? 200 : 404);
}

Response ServeApp::stateless(std::string_view body) {
  const Json json = parse_body(body);
  const std::shared_ptr<const Recommender> rec = recommender();
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
  return json_response(recommend_json(*rec, state, !seen.empty(), selection, seen));
}

Response ServeApp::model_summary() const {
  const std::shared_ptr<const Recommender> rec = recommender();
  const Model& m = rec->model();
  Json layers = Json::array();
  for (int size : m.params.layers) layers.push_back(size);
  // No file path in public answers: the id says which model this is.
  return json_response(Json{
      {"model_id", model_id_text(m)},
      {"model_version", rec->version()},
      {"items", m.num_items()},
      {"layers", layers},
      {"loss", std::string(loss_name(m.params.loss))},
      {"parameters", m.weights.parameter_count()},
      {"epochs", m.stats.epochs},
      {"training_events", m.stats.events},
      {"item_weights", options_.item_weights == WeightPrecision::kFloat16 ? "float16" : "float32"},
      {"live_sessions", sessions_->size()}});
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
  const auto rec = recommender();
  add(fmt::format("gru4rec_model_info{{version=\"{}\",items=\"{}\"}} 1", rec->version(),
                  rec->model().num_items()));
  metric("gru4rec_model_reloads_total", "counter", "Models loaded (the first one included).",
         reloads_.load());
  return text;
}

}  // namespace gru4rec
