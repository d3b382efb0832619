#include <cstdio>
#include <cstdlib>

#include "fuzz_targets.h"

namespace gru4rec::fuzz {

void fuzz_check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check '%s' failed\n", file, line, condition);
  std::abort();
}

}  // namespace gru4rec::fuzz
