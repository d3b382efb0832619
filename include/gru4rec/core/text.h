// Small, locale-independent text helpers used by the readers and the parameter parser.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gru4rec {

std::string_view trim(std::string_view text);

// Parses the whole of `text` (after trimming) as a number; nullopt when it is not one.
std::optional<int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);
// Accepts true/false, True/False, 1/0, yes/no (case-insensitive).
std::optional<bool> parse_bool(std::string_view text);

std::vector<std::string_view> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// Shortest text that parses back to the same double ("0.05", "1e-06", "10").
std::string format_double(double value);

// Quotes a value for an error message, truncating long values.
std::string quote_for_message(std::string_view text);

// 1234567 -> "1,234,567".
std::string with_thousands(int64_t value);

}  // namespace gru4rec
