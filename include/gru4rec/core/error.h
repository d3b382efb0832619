// Error policy of the whole library, stated once.
//
// * Bad input (a malformed file, an invalid parameter, a corrupt model) throws gru4rec::Error
//   with a message written for the user: where (file and line when there is one), what is
//   wrong, and what was expected. Front-ends print the message and exit non-zero.
// * A broken invariant (a bug in this library) is caught by GRU4REC_CHECK, which throws
//   gru4rec::InternalError naming the source file and line of the check.
// * Training that diverges (NaN or Inf loss) throws gru4rec::TrainingDiverged.
// Hot kernels do not check per element; their preconditions are checked once by the caller.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace gru4rec {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bug, not bad input: deliberately not an Error, so that no handler of bad input (a
// reload that keeps the old model, a 4xx answer, "gru4rec: error:") mistakes it for one.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void check_failed(const char* condition, const char* file, int line,
                               std::string_view message);
}  // namespace detail

}  // namespace gru4rec

// Checks an invariant; on failure throws InternalError("file:line: check 'cond' failed: msg").
#define GRU4REC_CHECK(condition, ...)                                 \
  do {                                                                \
    if (!(condition)) [[unlikely]] {                                  \
      ::gru4rec::detail::check_failed(#condition, __FILE__, __LINE__, \
                                      ::fmt::format("" __VA_ARGS__)); \
    }                                                                 \
  } while (false)
