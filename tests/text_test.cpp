#include "gru4rec/core/text.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

TEST(Text, ParsesWholeNumbersOnly) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int(" -7 "), -7);
  EXPECT_EQ(parse_int("+3"), 3);
  EXPECT_FALSE(parse_int("4x"));
  EXPECT_FALSE(parse_int(""));
  EXPECT_FALSE(parse_int("1.5"));
  EXPECT_DOUBLE_EQ(*parse_double("1396437466.94"), 1396437466.94);
  EXPECT_DOUBLE_EQ(*parse_double("1e-3"), 1e-3);
  EXPECT_FALSE(parse_double("abc"));
  EXPECT_FALSE(parse_double("nan"));
  EXPECT_FALSE(parse_double("inf"));
  EXPECT_FALSE(parse_double("12:30"));
}

TEST(Text, ParsesBooleansInPythonAndTomlSpelling) {
  EXPECT_EQ(parse_bool("True"), true);
  EXPECT_EQ(parse_bool("false"), false);
  EXPECT_EQ(parse_bool("1"), true);
  EXPECT_FALSE(parse_bool("maybe"));
}

TEST(Text, SplitsAndJoins) {
  auto parts = split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(join({"1", "2", "3"}, "/"), "1/2/3");
  EXPECT_EQ(format_double(0.05), "0.05");
  EXPECT_EQ(format_double(10.0), "10");
}

}  // namespace
TEST(Errors, ABrokenInvariantIsABugNotBadInput) {
  static_assert(!std::is_base_of_v<Error, InternalError>);
  try {
    GRU4REC_CHECK(1 + 1 == 3, "arithmetic is {}", "broken");
    FAIL() << "the check passed";
  } catch (const Error&) {
    FAIL() << "reported as bad input";
  } catch (const InternalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("text_test.cpp:"), std::string::npos) << what;
    EXPECT_NE(what.find("arithmetic is broken"), std::string::npos) << what;
  }
}

}  // namespace gru4rec
