// The fuzz targets: each takes arbitrary bytes, drives one parser of gru4rec with them, and checks
// what must hold whatever the bytes (a crash, a sanitizer report or a failed check is a finding).
// Each is a plain function, so that libFuzzer (fuzz/fuzz_main.cpp, one program per target) and the
// test suite (tests/fuzz_regression_test.cpp, replaying the committed corpus and every crash
// input kept under fuzz/regressions) run the same code.
//
// A check that fails calls fuzz_check_failed(), which aborts: libFuzzer keeps the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gru4rec::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);

struct NamedTarget {
  std::string_view name;  // the folder of its corpus: fuzz/corpus/NAME, fuzz/regressions/NAME
  Target run;
};

// The HTTP request reader (head, body, chunked framing, limits and rules) fed in chunks.
int http_request(const uint8_t* data, size_t size);
// The API's request handling (JSON bodies, paths, query strings) on a small model.
int api_request(const uint8_t* data, size_t size);
// The portable session record and its answer, as Redis returns them.
int session_record(const uint8_t* data, size_t size);
// Redis protocol replies, and what the server reads from them (records, experiment counts).
int redis_reply(const uint8_t* data, size_t size);
// The model file.
int model_file(const uint8_t* data, size_t size);
// Session logs (TSV and CSV) for training and testing.
int session_log(const uint8_t* data, size_t size);
// Raw event logs of `gru4rec prepare`: delimited and JSON lines, each time format.
int raw_events(const uint8_t* data, size_t size);
// Parameters: -ps strings, TOML files, the official Python parameter files.
int params(const uint8_t* data, size_t size);

inline constexpr NamedTarget kTargets[] = {
    {"http_request", http_request},     {"api_request", api_request},
    {"session_record", session_record}, {"redis_reply", redis_reply},
    {"model_file", model_file},         {"session_log", session_log},
    {"raw_events", raw_events},         {"params", params},
};

[[noreturn]] void fuzz_check_failed(const char* condition, const char* file, int line);

}  // namespace gru4rec::fuzz

// Checks what must hold for every input; aborts (a finding) when it does not.
#define FUZZ_CHECK(condition)                                                             \
  do {                                                                                    \
    if (!(condition)) ::gru4rec::fuzz::fuzz_check_failed(#condition, __FILE__, __LINE__); \
  } while (false)
