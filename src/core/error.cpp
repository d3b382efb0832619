#include "gru4rec/core/error.h"

namespace gru4rec::detail {

void check_failed(const char* condition, const char* file, int line, std::string_view message) {
  std::string text = fmt::format("{}:{}: internal check '{}' failed", file, line, condition);
  if (!message.empty()) text += fmt::format(": {}", message);
  throw InternalError(text);
}

}  // namespace gru4rec::detail
