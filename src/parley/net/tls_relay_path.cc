// The relay over TLS: RelayClientSession's datagrams through a TlsMediaChannel.
#include "parley/net/tls_relay_path.h"

namespace parley::net {

Result<std::unique_ptr<TlsRelayPath>> TlsRelayPath::Open(TlsRelayPathTarget target, RelayCredentials credentials,
                                                         TimePoint ticket_received_at,
                                                         TlsMediaChannelOptions channel_options,
                                                         RelayClientSessionOptions session_options) {
  TlsMediaEndpoint endpoint;
  endpoint.host = std::move(target.host);
  endpoint.port = target.port;
  endpoint.signaling_path = std::move(target.signaling_path);
  endpoint.pin_sha256 = std::move(target.pin_sha256);
  endpoint.relay = std::move(target.relay);
  endpoint.ticket.assign(credentials.ticket.begin(), credentials.ticket.end());
  auto channel = TlsMediaChannel::Open(std::move(endpoint), channel_options);
  if (!channel) return channel.error();
  RelayClientSession session(std::move(credentials), ticket_received_at, session_options);
  return std::unique_ptr<TlsRelayPath>(new TlsRelayPath(std::move(*channel), std::move(session)));
}

TlsRelayPath::TlsRelayPath(std::unique_ptr<TlsMediaChannel> channel, RelayClientSession session)
    : channel_(std::move(channel)), session_(std::move(session)) {}

void TlsRelayPath::NoticeReconnect() {
  const uint64_t upgrades = channel_->upgrades();
  if (upgrades == upgrades_seen_) return;
  // The first connection binds anyway; later ones must re-bind from a new address.
  if (upgrades_seen_ != 0) session_.RequestRebind();
  upgrades_seen_ = upgrades;
}

Status TlsRelayPath::Send(std::span<const uint8_t> sealed, TimePoint now) {
  NoticeReconnect();
  if (!channel_->upgraded()) {
    ++send_failures_;
    return Error{"the TLS media connection is not up; the packet was dropped."};
  }
  auto datagram = session_.Wrap(sealed, now);
  if (!datagram) {
    ++send_failures_;
    return datagram.error();
  }
  if (!channel_->Send(*datagram)) {
    ++send_failures_;
    return Error{"the TLS media connection refused the packet; it was dropped."};
  }
  ++packets_sent_;
  return Ok{};
}

std::optional<std::vector<uint8_t>> TlsRelayPath::Receive(TimePoint) {
  while (auto datagram = channel_->Receive()) {
    const RelayClientSession::Unwrapped arrival = session_.Unwrap(*datagram);
    switch (arrival.kind) {
      case RelayClientSession::Arrival::kAck:
        ready_ = channel_->upgraded() && !session_.binding();
        continue;
      case RelayClientSession::Arrival::kSealed:
        ++packets_received_;
        bytes_received_ += arrival.sealed.size();
        return std::vector<uint8_t>(arrival.sealed.begin(), arrival.sealed.end());
      case RelayClientSession::Arrival::kDropped:
        ++dropped_received_;
        continue;
    }
  }
  return std::nullopt;
}

void TlsRelayPath::Tick(TimePoint now) {
  NoticeReconnect();
  ready_ = channel_->upgraded() && !session_.binding();
  if (!channel_->upgraded()) return;
  if (auto bind = session_.TakeDueBind(now)) channel_->Send(*bind);
}

PacketPathStats TlsRelayPath::stats() const {
  const TlsMediaChannelStats carrier = channel_->stats();
  PacketPathStats s;
  s.packets_sent = packets_sent_;
  s.bytes_sent = carrier.bytes_sent;
  s.send_failures = send_failures_ + carrier.frames_dropped;
  s.packets_received = packets_received_;
  s.bytes_received = bytes_received_;
  s.dropped_received = dropped_received_;
  return s;
}

}  // namespace parley::net
