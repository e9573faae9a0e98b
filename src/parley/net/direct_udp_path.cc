// DirectUdpPath: candidate bookkeeping, hole punching by sending, and the source check.
#include "parley/net/direct_udp_path.h"

#include <algorithm>

#include "parley/net/candidate_address.h"

namespace parley::net {
namespace {

constexpr std::size_t kMinSealedSize = 25;
constexpr std::size_t kMaxSealedSize = 1200;

}  // namespace

DirectUdpPath::DirectUdpPath(DatagramPort& port, DirectUdpPathOptions options)
    : port_(port), options_(options) {}

std::size_t DirectUdpPath::SetPeerCandidates(std::span<const UdpEndpoint> candidates) {
  std::vector<UdpEndpoint> kept;
  for (const UdpEndpoint& c : candidates) {
    if (kept.size() >= kMaxCandidates) break;
    if (!CheckCandidate(c).ok() || (IsLoopback(c) && !options_.allow_loopback)) continue;
    if (std::find(kept.begin(), kept.end(), c) == kept.end()) kept.push_back(c);
  }
  const std::size_t count = kept.size();
  {
    std::lock_guard lock(pending_mutex_);
    pending_ = std::move(kept);
  }
  return count;
}

void DirectUdpPath::ApplyPendingCandidates() {
  std::optional<std::vector<UdpEndpoint>> fresh;
  {
    std::lock_guard lock(pending_mutex_);
    fresh.swap(pending_);
  }
  if (!fresh) return;
  candidates_.clear();
  for (const UdpEndpoint& endpoint : *fresh) candidates_.push_back(Candidate{endpoint, std::nullopt, false});
  if (peer_ && !IsCandidate(*peer_)) {
    peer_.reset();
    ready_.store(false, std::memory_order_relaxed);
  }
  open_.store(!candidates_.empty() || peer_.has_value(), std::memory_order_relaxed);
  UpdateDescription();
}

bool DirectUdpPath::IsCandidate(const UdpEndpoint& from) const {
  return std::any_of(candidates_.begin(), candidates_.end(),
                     [&](const Candidate& c) { return c.endpoint == from; });
}

Status DirectUdpPath::Send(std::span<const uint8_t> sealed, TimePoint now) {
  ApplyPendingCandidates();
  Expire(now);
  if (sealed.size() < kMinSealedSize || sealed.size() > kMaxSealedSize) {
    return Error{"A sealed packet is 25 to 1200 bytes, not " + std::to_string(sealed.size()) + "."};
  }
  std::size_t delivered = 0;
  std::optional<Error> last_error;
  auto send_to = [&](const UdpEndpoint& to) {
    Status sent = port_.SendTo(sealed, to);
    if (sent.ok()) {
      ++delivered;
      bytes_sent_.fetch_add(sealed.size(), std::memory_order_relaxed);
    } else {
      last_error = sent.error();
    }
    return sent.ok();
  };
  if (peer_) {
    send_to(*peer_);
  } else {
    for (Candidate& c : candidates_) {
      if (c.failed) continue;
      if (!c.first_sent) c.first_sent = now;
      // An address this host cannot send to at all (no route, wrong family) is given
      // up at once rather than after the timeout.
      if (!send_to(c.endpoint)) c.failed = true;
    }
  }
  if (delivered > 0) {
    packets_sent_.fetch_add(1, std::memory_order_relaxed);
    return Ok{};
  }
  send_failures_.fetch_add(1, std::memory_order_relaxed);
  if (last_error) return *last_error;
  return Error{"The direct path has no peer address to send to yet."};
}

std::optional<std::vector<uint8_t>> DirectUdpPath::Receive(TimePoint now) {
  ApplyPendingCandidates();
  while (auto datagram = port_.ReceiveFrom()) {
    if (!(peer_ && datagram->from == *peer_) && !IsCandidate(datagram->from)) {
      strangers_.fetch_add(1, std::memory_order_relaxed);
      dropped_received_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (datagram->bytes.size() < kMinSealedSize || datagram->bytes.size() > kMaxSealedSize) {
      dropped_received_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // The latest source wins: a peer whose NAT rebinds, or whose packets from a better
    // candidate get through later, is followed.
    if (!peer_ || *peer_ != datagram->from) {
      peer_ = datagram->from;
      UpdateDescription();
    }
    last_heard_ = now;
    ready_.store(true, std::memory_order_relaxed);
    open_.store(true, std::memory_order_relaxed);
    packets_received_.fetch_add(1, std::memory_order_relaxed);
    bytes_received_.fetch_add(datagram->bytes.size(), std::memory_order_relaxed);
    return std::move(datagram->bytes);
  }
  return std::nullopt;
}

void DirectUdpPath::Tick(TimePoint now) {
  ApplyPendingCandidates();
  Expire(now);
}

void DirectUdpPath::Expire(TimePoint now) {
  if (peer_) {
    if (now - last_heard_ < options_.silence_timeout) return;
    // Silent: look for the peer on every candidate again, each with a fresh timeout.
    peer_.reset();
    ready_.store(false, std::memory_order_relaxed);
    for (Candidate& c : candidates_) c = Candidate{c.endpoint, std::nullopt, false};
    UpdateDescription();
    return;
  }
  bool any_alive = false;
  for (Candidate& c : candidates_) {
    if (!c.failed && c.first_sent && now - *c.first_sent >= options_.candidate_timeout) c.failed = true;
    any_alive = any_alive || !c.failed;
  }
  const bool was_open = open_.load(std::memory_order_relaxed);
  // Before any candidates arrive the path is still expected to work.
  const bool now_open = any_alive || candidates_.empty();
  if (was_open != now_open) {
    open_.store(now_open, std::memory_order_relaxed);
    UpdateDescription();
  }
}

void DirectUdpPath::UpdateDescription() {
  std::string text;
  if (peer_) {
    text = "p2p " + peer_->ToString();
  } else if (candidates_.empty()) {
    text = "p2p (no candidates yet)";
  } else {
    const auto alive = std::count_if(candidates_.begin(), candidates_.end(), [](const Candidate& c) { return !c.failed; });
    text = alive == 0 ? "p2p (no candidate answered)"
                      : "p2p (trying " + std::to_string(alive) + (alive == 1 ? " address)" : " addresses)");
  }
  std::lock_guard lock(description_mutex_);
  description_ = std::move(text);
}

std::string DirectUdpPath::description() const {
  std::lock_guard lock(description_mutex_);
  return description_;
}

PacketPathStats DirectUdpPath::stats() const {
  PacketPathStats s;
  s.packets_sent = packets_sent_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.send_failures = send_failures_.load(std::memory_order_relaxed);
  s.packets_received = packets_received_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  s.dropped_received = dropped_received_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace parley::net
