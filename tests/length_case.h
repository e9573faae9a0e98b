// The shape every length-field table shares (issue #7, tests/*/*_length_fields_test.cc):
// a length set to one case and the exact error sentence it must give.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "parley/base/result.h"

namespace parley::test {

struct LengthCase {
  std::string name;
  uint64_t length;
  std::string error;  // "" = accepted
};

template <typename T>
void ExpectOutcome(const Result<T>& result, const LengthCase& c) {
  SCOPED_TRACE(c.name + " (" + std::to_string(c.length) + ")");
  if (c.error.empty()) {
    EXPECT_TRUE(result.ok()) << result.error().message;
  } else {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().message, c.error);
  }
}

}  // namespace parley::test
