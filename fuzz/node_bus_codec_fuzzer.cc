// Fuzzes the node bus codec with bytes as Redis might hand them over: every decoder
// either refuses with one printable sentence or returns a value that encodes back to
// exactly the same bytes (one encoding per value).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/check.h"
#include "parley/server/node_bus_codec.h"

using namespace parley::server;

namespace {

void CheckSentence(const parley::Error& error) {
  PARLEY_CHECK(!error.message.empty() && error.message.size() < 400);
  for (char c : error.message) {
    const auto byte = static_cast<unsigned char>(c);
    PARLEY_CHECK(byte >= 0x20 && byte < 0x7f);
  }
}

template <typename Decode, typename Encode>
void CheckDecoder(std::span<const uint8_t> bytes, Decode decode, Encode encode) {
  auto decoded = decode(bytes);
  if (!decoded.ok()) {
    CheckSentence(decoded.error());
    return;
  }
  const std::vector<uint8_t> again = encode(*decoded);
  PARLEY_CHECK(again.size() == bytes.size() && std::equal(again.begin(), again.end(), bytes.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  CheckDecoder(bytes, DecodeNodeEnvelope, EncodeNodeEnvelope);
  CheckDecoder(bytes, DecodePresenceRecord, EncodePresenceRecord);
  CheckDecoder(bytes, DecodeRelayRecord, EncodeRelayRecord);
  return 0;
}
