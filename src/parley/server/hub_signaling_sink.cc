// The signaling hub behind the web front: type conversions, and which send completes
// a login (the hub's `welcome`, after login or register), which lifts the front's
// login deadline.
#include "parley/server/hub_signaling_sink.h"

#include <variant>

#include "parley/signal/messages.h"

namespace parley::server {
namespace {

HubTime ToHub(SinkTime now) { return HubTime{now.steady, now.unix_ms}; }

// The hub answers a successful login or registration, and nothing else, with `welcome`.
// The substring test keeps the full parse off every other message.
bool IsWelcome(const std::string& text) {
  if (text.find("\"welcome\"") == std::string::npos) return false;
  auto message = signal::ParseMessage(text);
  return message && std::holds_alternative<signal::Welcome>(*message);
}

std::vector<SignalingSend> FromHub(std::vector<HubSend> sends) {
  std::vector<SignalingSend> out;
  out.reserve(sends.size());
  for (HubSend& s : sends) {
    const bool logged_in = IsWelcome(s.text);
    out.push_back(SignalingSend{s.connection, std::move(s.text), s.close_after, logged_in});
  }
  return out;
}

}  // namespace

std::vector<SignalingSend> HubSignalingSink::OnConnect(ConnectionId id, const std::string& remote_ip, SinkTime now) {
  return FromHub(hub_.OnConnect(id, remote_ip, ToHub(now)));
}

std::vector<SignalingSend> HubSignalingSink::OnMessage(ConnectionId id, std::string_view text, SinkTime now) {
  return FromHub(hub_.OnMessage(id, text, ToHub(now)));
}

std::vector<SignalingSend> HubSignalingSink::OnDisconnect(ConnectionId id, SinkTime now) {
  return FromHub(hub_.OnDisconnect(id, ToHub(now)));
}

std::vector<SignalingSend> HubSignalingSink::OnTimer(SinkTime now) { return FromHub(hub_.OnTimer(ToHub(now))); }

std::vector<SignalingSend> HubSignalingSink::OnEnvelope(const NodeEnvelope& envelope, SinkTime now) {
  return FromHub(hub_.OnEnvelope(envelope, ToHub(now)));
}

std::optional<TimePoint> HubSignalingSink::NextTimerAt() const { return hub_.NextTimerAt(); }

}  // namespace parley::server
