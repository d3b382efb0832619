#include "gru4rec/model/param_sources.h"

#include <toml++/toml.h>

#include <regex>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

// Text form of a TOML value, as it would appear in a parameter string.
std::optional<std::string> toml_value_text(const toml::node& node) {
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto f = node.as_floating_point()) return format_double(f->get());
  if (auto b = node.as_boolean()) return std::string(b->get() ? "True" : "False");
  if (auto a = node.as_array()) {
    std::vector<std::string> parts;
    for (const toml::node& element : *a) {
      auto text = toml_value_text(element);
      if (!text || element.is_array()) return std::nullopt;
      parts.push_back(*text);
    }
    return join(parts, "/");
  }
  return std::nullopt;
}

}  // namespace

void apply_param_string(Params& params, std::string_view text) {
  for (std::string_view entry : split(text, ',')) {
    if (trim(entry).empty()) continue;
    size_t equals = entry.find('=');
    if (equals == std::string_view::npos) {
      throw Error(
          fmt::format("-ps: entry {} has no '='; expected name=value pairs separated by "
                      "commas, e.g. loss=bpr-max,layers=224",
                      quote_for_message(trim(entry))));
    }
    set_param(params, entry.substr(0, equals), entry.substr(equals + 1), "-ps");
  }
}

void apply_param_toml(Params& params, std::string_view toml_text, std::string_view source_name) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}: invalid TOML: {}", source_name, e.source().begin.line,
                            e.description()));
  }
  for (auto&& [key, node] : table) {
    const std::string where = fmt::format("{}:{}", source_name, node.source().begin.line);
    auto text = toml_value_text(node);
    if (!text) {
      throw Error(
          fmt::format("{}: value of '{}' must be a string, number, boolean or a list of "
                      "numbers (parameter files hold top-level name = value pairs)",
                      where, key.str()));
    }
    set_param(params, key.str(), *text, where);
  }
}

void apply_param_python(Params& params, std::string_view python_text,
                        std::string_view source_name) {
  // Comments are blanked (keeping line numbers) so that commented-out entries are not read.
  std::string text(python_text);
  for (size_t pos = text.find('#'); pos != std::string::npos; pos = text.find('#', pos)) {
    const size_t end = text.find('\n', pos);
    std::fill(
        text.begin() + static_cast<std::ptrdiff_t>(pos),
        end == std::string::npos ? text.end() : text.begin() + static_cast<std::ptrdiff_t>(end),
        ' ');
  }
  if (text.find("gru4rec_params") == std::string::npos) {
    throw Error(
        fmt::format("{}: no gru4rec_params OrderedDict found; expected the official "
                    "parameter file format",
                    source_name));
  }
  // Entries look like ('name', value) with value a quoted string, a number, True/False or a
  // list of numbers.
  static const std::regex entry(
      R"re(\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*,\s*('[^']*'|"[^"]*"|\[[^\]]*\]|[^\)\s]+)\s*\))re");
  int found = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), entry);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    std::string value = (*it)[2];
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) {
      value = value.substr(1, value.size() - 2);
    } else if (value.size() >= 2 && value.front() == '[') {
      std::vector<std::string> parts;
      for (auto part : split(std::string_view(value).substr(1, value.size() - 2), ',')) {
        if (!trim(part).empty()) parts.emplace_back(trim(part));
      }
      value = join(parts, "/");
    }
    const auto line = 1 + std::count(text.begin(), text.begin() + it->position(), '\n');
    set_param(params, name, value, fmt::format("{}:{}", source_name, line));
    ++found;
  }
  if (found == 0) {
    throw Error(fmt::format("{}: gru4rec_params has no ('name', value) entries", source_name));
  }
}

void apply_param_file(Params& params, const std::string& path) {
  const std::string content = read_file(path);
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".py") == 0) {
    apply_param_python(params, content, path);
  } else {
    apply_param_toml(params, content, path);
  }
}

}  // namespace gru4rec
