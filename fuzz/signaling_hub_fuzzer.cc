// Fuzzes two signaling hubs (two parleyd nodes on one in-memory SQLite store and an
// InProcessCluster) with random sequences of connects, logins (validly signed by the
// harness), well-formed and random messages from a few connections on either node,
// forged envelopes between nodes, and time steps. After every step: both hubs'
// invariants hold, everything they send parses as a server message, and no client IP
// is in any message; when everyone has left, no call and no busy claim is left.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parley/base/check.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/in_process_cluster.h"
#include "parley/server/in_process_node_bus.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

using namespace parley;
using namespace parley::server;

namespace {

constexpr int kUsers = 4;
constexpr int kCallIds = 6;
const char* const kNames[kUsers] = {"alice", "bob", "carol", "dave"};
const char* const kIps[3] = {"192.0.2.1", "192.0.2.2", "198.51.100.3"};

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string Bytes(size_t n) {
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

const crypto::IdentityKey& KeyOf(int user) {
  static const std::vector<crypto::IdentityKey>* keys = [] {
    auto* v = new std::vector<crypto::IdentityKey>();
    for (int i = 0; i < kUsers; ++i) {
      crypto::SeededKeySource source(static_cast<uint64_t>(i + 1));
      v->push_back(crypto::IdentityKey::Generate(source));
    }
    return v;
  }();
  return (*keys)[user];
}

signal::CallId CallIdOf(int n) {
  signal::CallId id{};
  id[0] = static_cast<uint8_t>(n);
  id[15] = 0xfe;
  return id;
}

std::vector<uint8_t> Handshake(crypto::HandshakeType type, const signal::CallId& call_id) {
  crypto::HandshakeMessage m;
  m.type = type;
  m.call_id = call_id;
  return crypto::SerializeHandshakeMessage(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  auto store = SqliteStore::OpenInMemory().value();
  std::array<uint8_t, 32> ticket_key{};
  RelayTicketIssuer tickets(ticket_key);
  HubConfig config;
  config.server_name = "fuzz.test";
  config.relay_host = "relay.fuzz.test";
  config.relay_port = 443;
  config.ring_timeout = seconds(5);
  std::array<uint8_t, 32> seed{};
  HubTime now{TimePoint{} + seconds(1), 1'700'000'000'000};
  ManualClock clock(now.steady);
  InProcessCluster cluster(clock);
  const char* const kNodes[2] = {"n0", "n1"};
  InProcessNodeBus bus0(kNodes[0], cluster), bus1(kNodes[1], cluster);
  SignalingHub hub0(*store, tickets, config, seed, &bus0);
  SignalingHub hub1(*store, tickets, config, seed, &bus1);
  SignalingHub* const hubs[2] = {&hub0, &hub1};
  // Connection ids are unique across both nodes; odd ones are on n1.
  auto hub_of = [&](ConnectionId c) -> SignalingHub& { return *hubs[c % 2]; };
  // Accounts exist from the start so calls can happen.
  for (int i = 0; i < kUsers; ++i) {
    PARLEY_CHECK(store->CreateAccount(kNames[i], DeviceRecord{"dev", KeyOf(i).public_key()}, 0).ok());
  }

  std::map<ConnectionId, signal::Challenge> challenges;  // live connections
  ConnectionId next_id = 1;

  std::vector<NodeEnvelope> seen;  // real envelopes, material for forged ones
  std::function<void(std::vector<HubSend>)> deliver = [&](std::vector<HubSend> sends) {
    hub0.CheckInvariants();
    hub1.CheckInvariants();
    for (const auto& send : sends) {
      auto parsed = signal::ParseMessage(send.text);
      PARLEY_CHECK_MSG(parsed.ok(), send.text.c_str());
      PARLEY_CHECK(!signal::IsClientMessage(*parsed));
      for (const char* ip : kIps) PARLEY_CHECK(send.text.find(ip) == std::string::npos);
      if (auto* hello = std::get_if<signal::Hello>(&*parsed)) challenges[send.connection] = hello->challenge;
      if (send.close_after) challenges.erase(send.connection);
    }
  };
  for (int n = 0; n < 2; ++n) {
    (n == 0 ? bus0 : bus1).SetReceiver([&, n](NodeEnvelope envelope) {
      if (seen.size() < 64) seen.push_back(envelope);
      deliver(hubs[n]->OnEnvelope(envelope, now));
    });
  }
  auto pick = [&]() -> ConnectionId {
    if (challenges.empty()) return 0;
    auto it = challenges.begin();
    std::advance(it, in.Byte() % challenges.size());
    return it->first;
  };

  for (int step = 0; step < 200 && !in.empty(); ++step) {
    const uint8_t op = in.Byte();
    const ConnectionId c = pick();
    const int user = in.Byte() % kUsers;
    const signal::CallId call = CallIdOf(in.Byte() % kCallIds);
    const signal::RequestId id = in.Byte();
    std::optional<signal::Message> message;
    switch (op % 16) {
      case 0:
        if (challenges.size() < 6) {
          const ConnectionId fresh = next_id++;
          challenges[fresh] = {};
          deliver(hub_of(fresh).OnConnect(fresh, kIps[user % 3], now));
        }
        continue;
      case 1:
        if (c != 0) {
          challenges.erase(c);
          deliver(hub_of(c).OnDisconnect(c, now));
        }
        continue;
      case 2:
        if (c != 0) {
          message = signal::Login{id, kNames[user], "dev",
                                  KeyOf(user).Sign(signal::AuthSignedBytes(signal::AuthPurpose::kLogin, challenges[c],
                                                                           kNames[user], "dev", config.server_name))};
        }
        break;
      case 3: {
        // Up to ~3 minutes: past the busy claims' and presence records' ttl.
        const int step_ms = in.Byte() * (in.Byte() % 8 == 0 ? 800 : 50);
        now.steady += milliseconds(step_ms);
        now.unix_ms += step_ms;
        clock.Set(now.steady);
        for (SignalingHub* hub : hubs) {
          deliver(hub->OnTimer(now));
          if (auto next = hub->NextTimerAt()) PARLEY_CHECK(*next > now.steady);
        }
        cluster.Pump();
        continue;
      }
      case 4: message = signal::Invite{id, call, kNames[(user + 1) % kUsers]}; break;
      case 5: message = signal::Offer{id, call, Handshake(crypto::HandshakeType::kCommit, call)}; break;
      case 6: message = signal::Accept{id, call, Handshake(crypto::HandshakeType::kAccept, call)}; break;
      case 7: message = signal::Reveal{id, call, Handshake(crypto::HandshakeType::kReveal, call)}; break;
      case 8: message = signal::Decline{id, call}; break;
      case 9: message = signal::Cancel{id, call}; break;
      case 10: message = signal::Hangup{id, call}; break;
      case 11:
        switch (in.Byte() % 4) {
          case 0: message = signal::ContactsAdd{id, kNames[user]}; break;
          case 1: message = signal::ContactsRemove{id, kNames[user]}; break;
          case 2: message = signal::BlockUser{id, kNames[user]}; break;
          default: message = signal::UnblockUser{id, kNames[user]}; break;
        }
        break;
      case 12:
        message = signal::Settings{id, static_cast<signal::Audience>(in.Byte() % 3),
                                   static_cast<signal::Audience>(in.Byte() % 3)};
        break;
      case 13:
        if (in.Byte() % 4 == 0) {
          message = signal::PathTest{id};  // parley doctor's test tickets
        } else {
          message = signal::History{id, 1 + in.Byte() % 100};
        }
        break;
      case 14:
        if (c != 0 && in.Byte() % 8 == 0) {
          message = signal::DeleteAccount{
              id, KeyOf(user).Sign(signal::AuthSignedBytes(signal::AuthPurpose::kDeleteAccount, challenges[c],
                                                           kNames[user], "dev", config.server_name))};
        } else {
          message = signal::ContactsList{id};
        }
        break;
      default:
        if (in.Byte() % 4 == 0) {
          // A forged or replayed envelope into either node: a real one with a field
          // changed, or one made up.
          NodeEnvelope e = seen.empty() ? NodeEnvelope{} : seen[in.Byte() % seen.size()];
          switch (in.Byte() % 8) {
            case 0: e.kind = static_cast<NodeEnvelope::Kind>(1 + in.Byte() % 5); break;
            case 1: e.connection = c; break;
            case 2: e.user = kNames[user]; break;
            case 3: e.call = call; break;
            case 4: e.text = in.Bytes(in.Byte()); break;
            case 5: e.ends_call = !e.ends_call; break;
            case 6: e.from_node = kNodes[in.Byte() % 2]; break;
            default: break;  // replayed as it was
          }
          deliver(hubs[in.Byte() % 2]->OnEnvelope(e, now));
          cluster.Pump();
        } else if (c != 0) {
          deliver(hub_of(c).OnMessage(c, in.Bytes(in.Byte()), now));
          cluster.Pump();
        }
        continue;
    }
    if (c != 0 && message) deliver(hub_of(c).OnMessage(c, signal::SerializeMessage(*message), now));
    cluster.Pump();
  }
  // Everyone leaves: nothing may be left behind.
  for (const auto& [c, challenge] : std::map(challenges)) {
    deliver(hub_of(c).OnDisconnect(c, now));
    cluster.Pump();
  }
  for (SignalingHub* hub : hubs) {
    PARLEY_CHECK(hub->call_count() == 0);
    PARLEY_CHECK(hub->connection_count() == 0);
  }
  signal::CallId probe{};
  probe.fill(0x77);
  for (const char* name : kNames) PARLEY_CHECK(cluster.ClaimBusy("probe", name, probe, seconds(1)));
  return 0;
}
