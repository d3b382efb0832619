// The libFuzzer entry of one fuzz target (GRU4REC_FUZZ_TARGET, set per program by
// fuzz/CMakeLists.txt); the targets are in fuzz/targets.
#include "targets/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gru4rec::fuzz::GRU4REC_FUZZ_TARGET(data, size);
}
