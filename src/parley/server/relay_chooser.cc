// RelayChooser: least loaded first, full relays skipped, a deterministic tie-break;
// and the parser of the configured alternates list.
#include "parley/server/relay_chooser.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <tuple>

namespace parley::server {
namespace {

bool IsFull(const RelayRecord& relay) { return relay.capacity == 0 || relay.calls >= relay.capacity; }

// a.calls / a.capacity < b.calls / b.capacity, exactly (no floating point: every node
// must order the same records the same way).
bool LessLoaded(const RelayRecord& a, const RelayRecord& b) {
  const uint64_t left = uint64_t{a.calls} * b.capacity;
  const uint64_t right = uint64_t{b.calls} * a.capacity;
  if (left != right) return left < right;
  return std::tie(a.id, a.host, a.port) < std::tie(b.id, b.host, b.port);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::vector<signal::RelayAddress> RelayChooser::Choose(std::span<const RelayRecord> live,
                                                       const std::optional<RelayRecord>& own, std::size_t count) {
  std::vector<RelayRecord> usable;
  for (const RelayRecord& relay : live) {
    if (!IsFull(relay) && !relay.host.empty() && relay.port != 0) usable.push_back(relay);
  }
  if (own && !IsFull(*own) && !own->host.empty() && own->port != 0) usable.push_back(*own);
  std::sort(usable.begin(), usable.end(), LessLoaded);
  std::vector<signal::RelayAddress> chosen;
  for (const RelayRecord& relay : usable) {
    if (chosen.size() == count) break;
    const signal::RelayAddress address{relay.host, relay.port};
    // The same relay announced twice (a restart under a new id) counts once.
    if (std::find(chosen.begin(), chosen.end(), address) == chosen.end()) chosen.push_back(address);
  }
  return chosen;
}

Result<std::vector<signal::RelayAddress>> ParseRelayAddressList(std::string_view text) {
  std::vector<signal::RelayAddress> out;
  if (Trim(text).empty()) return out;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view entry = Trim(text.substr(0, comma));
    const std::string quoted = "'" + std::string(entry) + "'";
    if (out.size() == signal::kMaxRelayAlternates) {
      return Error{"relay.alternates names more than " + std::to_string(signal::kMaxRelayAlternates) +
                   " relays; keep the nearest " + std::to_string(signal::kMaxRelayAlternates) + "."};
    }
    const std::size_t colon = entry.rfind(':');
    std::string_view host = colon == std::string_view::npos ? std::string_view() : entry.substr(0, colon);
    const std::string_view port_text = colon == std::string_view::npos ? std::string_view() : entry.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (host.empty() || host.size() > signal::kMaxHostBytes || host.find_first_of(" \t[]") != std::string_view::npos ||
        port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Error{"relay.alternates entry " + quoted +
                   " is not HOST:PORT (such as relay2.example.org:3478 or [2001:db8::2]:3478); fix the list."};
    }
    out.push_back({std::string(host), static_cast<uint16_t>(port)});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace parley::server
