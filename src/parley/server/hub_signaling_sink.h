// Binds the signaling hub to the web front: SignalingSink calls in, SignalingHub
// calls out, so the front stays testable without the hub and the hub without sockets.
#pragma once

#include "parley/server/signaling_hub.h"
#include "parley/server/signaling_sink.h"

namespace parley::server {

// Called on the web front's hub strand only (as SignalingSink says), which is what
// SignalingHub requires. `hub` must outlive this adapter.
class HubSignalingSink final : public SignalingSink {
 public:
  explicit HubSignalingSink(SignalingHub& hub) : hub_(hub) {}

  std::vector<SignalingSend> OnConnect(ConnectionId id, const std::string& remote_ip, SinkTime now) override;
  std::vector<SignalingSend> OnMessage(ConnectionId id, std::string_view text, SinkTime now) override;
  std::vector<SignalingSend> OnDisconnect(ConnectionId id, SinkTime now) override;
  std::vector<SignalingSend> OnTimer(SinkTime now) override;
  std::vector<SignalingSend> OnEnvelope(const NodeEnvelope& envelope, SinkTime now) override;
  std::optional<TimePoint> NextTimerAt() const override;

 private:
  SignalingHub& hub_;
};

}  // namespace parley::server
