#include <cctype>

#include "gru4rec/prepare/raw_events.h"

namespace gru4rec {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads exactly `width` digits at text[at].
bool digits(std::string_view text, size_t at, size_t width, int& out) {
  if (at + width > text.size()) return false;
  out = 0;
  for (size_t i = at; i < at + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  int year, month, day;
  if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) || month < 1 ||
      month > 12 || day < 1 || day > 31)
    return std::nullopt;
  int64_t ms =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400000;
  size_t at = 10;
  if (at == text.size()) return ms;
  if (text[at] != 'T' && text[at] != ' ') return std::nullopt;
  int hour, minute, second = 0;
  if (!digits(text, at + 1, 2, hour) || text.size() < at + 6 || text[at + 3] != ':' ||
      !digits(text, at + 4, 2, minute) || hour > 23 || minute > 59)
    return std::nullopt;
  at += 6;
  if (at < text.size() && text[at] == ':') {
    if (!digits(text, at + 1, 2, second) || second > 60) return std::nullopt;
    at += 3;
  }
  ms += (hour * 3600 + minute * 60 + second) * int64_t{1000};
  if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
    ++at;
    int64_t fraction = 0, scale = 1000;
    size_t count = 0;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      if (count < 3) {
        fraction = fraction * 10 + (text[at] - '0');
        scale /= 10;
      }
      ++count;
      ++at;
    }
    if (count == 0) return std::nullopt;
    ms += fraction * scale;
  }
  std::string_view zone = text.substr(at);
  if (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  if (zone.empty() || zone == "Z" || zone == "UTC") return ms;
  if ((zone[0] == '+' || zone[0] == '-') && zone.size() >= 3) {
    int zone_hours, zone_minutes = 0;
    if (!digits(zone, 1, 2, zone_hours)) return std::nullopt;
    size_t next = 3;
    if (next < zone.size() && zone[next] == ':') ++next;
    if (next < zone.size() && !digits(zone, next, 2, zone_minutes)) return std::nullopt;
    if (next < zone.size() && next + 2 != zone.size()) return std::nullopt;
    const int64_t offset = (zone_hours * 60 + zone_minutes) * int64_t{60000};
    return zone[0] == '+' ? ms - offset : ms + offset;
  }
  return std::nullopt;
}

}  // namespace gru4rec
