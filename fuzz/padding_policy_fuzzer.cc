// Fuzzes the padding-policy text parser (configuration and command line).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/crypto/padding_policy.h"

using namespace parley::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto policy = PaddingPolicy::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (policy.ok() && policy->mode() == PaddingPolicy::Mode::kConstant) {
    PARLEY_CHECK(policy->constant_size() >= kMinSealedSize && policy->constant_size() <= kMaxSealedSize);
  }
  return 0;
}
