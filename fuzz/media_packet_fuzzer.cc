// Fuzzes ParseMediaPacket: no crash on any input, and whatever parses serializes back
// to the same bytes (the encoding is canonical) and reparses equal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "parley/media/media_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::media;
  const std::span<const uint8_t> bytes(data, size);
  auto parsed = ParseMediaPacket(bytes);
  if (!parsed.ok()) return 0;
  const std::vector<uint8_t> again = SerializeMediaPacket(*parsed);
  auto reparsed = ParseMediaPacket(again);
  if (!reparsed.ok() || !(*reparsed == *parsed)) std::abort();
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  return 0;
}
