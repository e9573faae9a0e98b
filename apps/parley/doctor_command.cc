// `parley doctor`: logs in, asks parleyd for path-test tickets (path_test), binds both
// ends of each test call from two paths and runs call::PathSelfTest over them, then
// prints signal::DoctorFacts. Wiring only: the judging is in signal/doctor_report.
#include "doctor_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "parley/call/path_self_test.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/net/local_addresses.h"
#include "parley/net/relay_client_session.h"
#include "parley/net/relay_udp_path.h"
#include "parley/net/tls_media_channel.h"
#include "parley/signal/client_auth.h"
#include "parley/signal/client_profile.h"
#include "parley/signal/doctor_report.h"
#include "parley/signal/messages.h"
#include "server_link.h"

namespace parley::app {
namespace {

namespace fs = std::filesystem;
using signal::Message;

constexpr Duration kConnectTimeout = seconds(10);
constexpr Duration kReplyTimeout = seconds(10);
constexpr Duration kTestBudget = seconds(12);  // all path tests together, at most
constexpr Duration kStep = milliseconds(5);

TimePoint Now() { return std::chrono::steady_clock::now(); }

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

fs::path ProfileDir(const CommonOptions& common) {
  if (!common.profile_dir.empty()) return common.profile_dir;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".config" / "parley";
}

// The relay over TLS for the test: RelayClientSession's datagrams in TlsMediaChannel
// frames. (The call's own net::TlsRelayPath does the same with reconnect handling; the
// test lives only seconds and needs none of it.)
class DoctorTlsPath final : public net::PacketPath {
 public:
  DoctorTlsPath(std::unique_ptr<net::TlsMediaChannel> channel, net::RelayClientSession session)
      : channel_(std::move(channel)), session_(std::move(session)) {}

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override {
    auto datagram = session_.Wrap(sealed, now);
    if (!datagram) return datagram.error();
    if (!channel_->Send(*datagram)) return Error{"the TLS media connection is not up."};
    return Ok{};
  }
  std::optional<std::vector<uint8_t>> Receive(TimePoint) override {
    while (auto datagram = channel_->Receive()) {
      const auto arrival = session_.Unwrap(*datagram);
      if (arrival.kind == net::RelayClientSession::Arrival::kAck) ready_ = true;
      if (arrival.kind == net::RelayClientSession::Arrival::kSealed) {
        return std::vector<uint8_t>(arrival.sealed.begin(), arrival.sealed.end());
      }
    }
    return std::nullopt;
  }
  void Tick(TimePoint now) override {
    if (!channel_->upgraded()) return;  // binds wait for the connection
    if (auto bind = session_.TakeDueBind(now)) (void)channel_->Send(*bind);
  }
  int fd() const override { return channel_->fd(); }
  bool ready() const override { return ready_; }
  bool open() const override { return channel_->open(); }
  net::PathKind kind() const override { return net::PathKind::kRelayTls; }
  std::string description() const override { return channel_->description(); }
  net::PacketPathStats stats() const override { return {}; }
  std::string last_error() const { return channel_->last_error(); }

 private:
  std::unique_ptr<net::TlsMediaChannel> channel_;
  net::RelayClientSession session_;
  bool ready_ = false;
};

struct Login {
  signal::ClientProfile profile;
  std::unique_ptr<ServerLink> link;
  uint64_t next_id = 1;
};

Result<Message> WaitReply(ServerLink& link, uint64_t id) {
  const TimePoint deadline = Now() + kReplyTimeout;
  while (Now() < deadline) {
    auto text = link.Receive(milliseconds(200));
    if (!text) return text.error();
    if (!*text) continue;
    auto message = signal::ParseMessage(**text);
    if (message && signal::MessageId(*message) == id) return message;
  }
  return Error{"parleyd did not answer in time; check your connection and try again."};
}

template <typename T>
Result<Message> Request(Login& login, T message) {
  message.id = login.next_id++;
  const uint64_t id = *message.id;
  if (Status sent = login.link->Send(signal::SerializeMessage(Message{message})); !sent) return sent.error();
  auto reply = WaitReply(*login.link, id);
  if (!reply) return reply;
  if (const auto* error = std::get_if<signal::ErrorReply>(&*reply)) return Error{error->message};
  return reply;
}

// Connects (timed) and logs in; fills facts.signaling either way.
Result<std::unique_ptr<Login>> ConnectAndLogin(const CommonOptions& common, signal::DoctorFacts& facts) {
  auto login = std::make_unique<Login>();
  const fs::path dir = ProfileDir(common);
  auto profile = signal::LoadClientProfile(dir);
  if (!profile) return profile.error();
  login->profile = *profile;
  facts.signaling.server = profile->server_host + ":" + std::to_string(profile->server_port);
  crypto::SystemKeySource keys;
  if (!fs::exists(dir / crypto::IdentityKey::kFileName)) {
    return Error{"The profile " + dir.string() + " has no identity key; run `parley init` again."};
  }
  auto identity = crypto::IdentityKey::LoadOrCreate(dir, keys);
  if (!identity) return identity.error();

  const TimePoint start = Now();
  auto link = ConnectToServer({profile->server_host, profile->server_port, profile->websocket_path,
                               profile->pin_sha256},
                              kConnectTimeout);
  if (!link) {
    facts.signaling.error = link.error().message;
    return link.error();
  }
  facts.signaling.reachable = true;
  facts.signaling.connect_ms = Ms(Now() - start);
  login->link = std::move(*link);

  std::optional<signal::Hello> hello;
  const TimePoint deadline = Now() + kReplyTimeout;
  while (!hello && Now() < deadline) {
    auto text = login->link->Receive(milliseconds(200));
    if (!text) {
      facts.signaling.error = text.error().message;
      return text.error();
    }
    if (!*text) continue;
    auto message = signal::ParseMessage(**text);
    if (message && std::holds_alternative<signal::Hello>(*message)) hello = std::get<signal::Hello>(*message);
  }
  if (!hello) {
    facts.signaling.error = "the server did not greet us in time.";
    return Error{facts.signaling.error};
  }
  const uint64_t id = login->next_id++;
  auto request = signal::AnswerHello(*hello, signal::AuthPurpose::kLogin, profile->server_name, profile->user,
                                     profile->device, *identity, id);
  if (!request) {
    facts.signaling.error = request.error().message;
    return request.error();
  }
  if (Status sent = login->link->Send(signal::SerializeMessage(*request)); !sent) return sent.error();
  auto reply = WaitReply(*login->link, id);
  if (!reply) {
    facts.signaling.error = reply.error().message;
    return reply.error();
  }
  if (const auto* error = std::get_if<signal::ErrorReply>(&*reply)) {
    facts.signaling.error = "parleyd refused the login: " + error->message;
    return Error{facts.signaling.error};
  }
  facts.signaling.logged_in = std::holds_alternative<signal::Welcome>(*reply);
  if (!facts.signaling.logged_in) return Error{"parleyd answered the login with an unexpected message."};
  return login;
}

// One pair under test: two paths (either may be missing if it could not be opened).
struct PairUnderTest {
  signal::RelayPathCheck check;
  std::unique_ptr<net::PacketPath> first, second;
  std::unique_ptr<call::PathSelfTest> test;
};

Result<net::RelayCredentials> Credentials(const signal::PathTestTickets& t, uint8_t participant) {
  return net::RelayCredentials::FromBytes(participant == 0 ? t.ticket_0 : t.ticket_1,
                                          participant == 0 ? t.hop_key_0 : t.hop_key_1, t.bind_key);
}

Result<std::unique_ptr<net::PacketPath>> OpenUdp(const signal::PathTestTickets& t, uint8_t participant,
                                                 TimePoint received_at) {
  auto credentials = Credentials(t, participant);
  if (!credentials) return credentials.error();
  auto path = net::RelayUdpPath::Open(t.host, t.port, std::move(*credentials), received_at, Now());
  if (!path) return path.error();
  return std::unique_ptr<net::PacketPath>(std::move(*path));
}

Result<std::unique_ptr<net::PacketPath>> OpenTls(const signal::ClientProfile& profile,
                                                 const signal::PathTestTickets& t, uint8_t participant,
                                                 TimePoint received_at) {
  auto credentials = Credentials(t, participant);
  if (!credentials) return credentials.error();
  // The relay the tickets came with, as the UDP pairs use it.
  net::TlsMediaEndpoint endpoint{profile.server_host, profile.server_port, profile.websocket_path,
                                 profile.pin_sha256, participant == 0 ? t.ticket_0 : t.ticket_1,
                                 net::MediaTargetRelay{t.host, t.port}};
  net::TlsMediaChannelOptions options;
  options.connect_timeout = seconds(4);
  auto channel = net::TlsMediaChannel::Open(std::move(endpoint), options);
  if (!channel) return channel.error();
  return std::unique_ptr<net::PacketPath>(
      new DoctorTlsPath(std::move(*channel), net::RelayClientSession(std::move(*credentials), received_at)));
}

std::string TlsError(const net::PacketPath* path) {
  if (const auto* tls = dynamic_cast<const DoctorTlsPath*>(path)) return tls->last_error();
  return {};
}

}  // namespace

int RunDoctor(const CommonOptions& common, const DoctorOptions& options) {
  signal::DoctorFacts facts;
  auto finish = [&]() {
    const std::string out = options.json ? signal::FormatDoctorJson(facts) + "\n" : signal::FormatDoctorText(facts);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    return signal::DoctorExitCode(facts);
  };
  auto login = ConnectAndLogin(common, facts);
  if (!login) {
    if (facts.signaling.error.empty()) {  // the profile, not the network
      std::fprintf(stderr, "parley: %s\n", login.error().message.c_str());
      return 2;
    }
    return finish();
  }
  Login& session = **login;
  if (auto settings = Request(session, signal::Settings{}); settings) {
    if (const auto* current = std::get_if<signal::CurrentSettings>(&*settings)) {
      facts.p2p_setting = std::string(signal::ToString(current->p2p));
    }
  }

  // The three pairs: each gets its own test call, so the relay sees three calls.
  const struct {
    const char* name;
    bool first_tls, second_tls;
  } kPairs[] = {{"relay-udp", false, false}, {"relay-tls", true, true}, {"relay-udp+relay-tls", false, true}};
  std::vector<PairUnderTest> pairs;
  crypto::SystemKeySource keys;
  const TimePoint start = Now();
  for (const auto& spec : kPairs) {
    PairUnderTest pair;
    pair.check.name = spec.name;
    auto reply = Request(session, signal::PathTest{});
    if (!reply) {
      pair.check.error = reply.error().message;
      pairs.push_back(std::move(pair));
      continue;
    }
    const auto* tickets = std::get_if<signal::PathTestTickets>(&*reply);
    if (tickets == nullptr) {
      pair.check.error = "parleyd does not support the path test (it may be older than this client).";
      pairs.push_back(std::move(pair));
      continue;
    }
    const TimePoint received_at = Now();
    auto first = spec.first_tls ? OpenTls(session.profile, *tickets, 0, received_at)
                                : OpenUdp(*tickets, 0, received_at);
    auto second = spec.second_tls ? OpenTls(session.profile, *tickets, 1, received_at)
                                  : OpenUdp(*tickets, 1, received_at);
    if (!first || !second) {
      pair.check.tested = true;  // opening failed here: blocked from this machine
      pair.check.error = !first ? first.error().message : second.error().message;
    } else {
      pair.first = std::move(*first);
      pair.second = std::move(*second);
      pair.test = std::make_unique<call::PathSelfTest>(*pair.first, *pair.second, Now(), keys);
      pair.check.tested = true;
    }
    pairs.push_back(std::move(pair));
  }

  // Run the tests side by side; each ends by itself (ready timeout or last reply).
  while (Now() - start < kTestBudget) {
    bool all_done = true;
    for (auto& pair : pairs) {
      if (!pair.test || pair.test->done()) continue;
      pair.test->Step(Now());
      all_done = all_done && pair.test->done();
    }
    if (all_done) break;
    std::this_thread::sleep_for(kStep);
  }
  for (auto& pair : pairs) {
    if (!pair.test) {
      facts.relay_paths.push_back(pair.check);
      continue;
    }
    const call::PathSelfTestResult r = pair.test->result();
    pair.check.first_bound = r.a_ready;
    pair.check.second_bound = r.b_ready;
    pair.check.sent = r.requests_sent;
    pair.check.answered = r.replies_received;
    if (r.median_rtt) pair.check.median_rtt_ms = Ms(*r.median_rtt);
    if (!r.works()) {
      std::string why = TlsError(pair.first.get());
      if (why.empty()) why = TlsError(pair.second.get());
      pair.check.error = why;
    }
    facts.relay_paths.push_back(pair.check);
  }

  // What the relay saw of the two UDP sockets (the first pair's).
  if (!pairs.empty() && pairs[0].first && pairs[0].second) {
    const auto* a = dynamic_cast<const net::RelayUdpPath*>(pairs[0].first.get());
    const auto* b = dynamic_cast<const net::RelayUdpPath*>(pairs[0].second.get());
    if (a && b) {
      if (auto seen = a->reflexive_address()) facts.nat.mapped = seen->ToString();
      if (auto seen = b->reflexive_address()) facts.nat.mapped_second = seen->ToString();
      facts.nat.local_port = a->socket()->local_endpoint().port();
      facts.nat.local_port_second = b->socket()->local_endpoint().port();
    }
  }
  net::LocalAddressOptions local;
  for (const auto& address : net::GatherLocalAddresses(local)) facts.nat.local_addresses.push_back(address.ToString());
  return finish();
}

}  // namespace parley::app
