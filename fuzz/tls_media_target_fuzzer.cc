// Fuzzes the media upgrade target parser (docs/protocol.md, "Media over TLS"): what it
// accepts (ticket and named relay) rebuilds to the same target, and errors are one
// printable sentence.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parley/net/tls_media_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr std::string_view kPath = "/ws/fuzz-path";
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  auto parsed = parley::net::ParseMediaUpgradeTarget(kPath, target);
  if (parsed.ok()) {
    if (parsed->ticket.empty() || parsed->ticket.size() > parley::net::kMaxMediaTargetTicketBytes) std::abort();
    if (parsed->relay && !parley::net::IsValidMediaTargetRelay(*parsed->relay)) std::abort();
    if (parley::net::MediaUpgradeTarget(kPath, parsed->ticket, parsed->relay) != target) std::abort();
  } else {
    const std::string& m = parsed.error().message;
    if (m.empty() || m.back() != '.') std::abort();
    for (char c : m) {
      if (c < 0x20 || c > 0x7e) std::abort();
    }
  }
  return 0;
}
