// What `parley doctor` found, as plain facts, and how to say it: one line per transport
// in plain words, the path calls will use, and the same facts as JSON. Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace parley::signal {

// The signaling connection (TLS + WebSocket to the web front).
struct SignalingCheck {
  std::string server;        // "host:port"
  bool reachable = false;    // TLS and the WebSocket upgrade completed
  bool logged_in = false;
  double connect_ms = 0;     // lookup + TCP + TLS + upgrade
  std::string error;         // one sentence when not reachable or not logged in
};

// One relay path pair tested end to end (participant 0 on `first`, 1 on `second`).
struct RelayPathCheck {
  std::string name;     // "relay-udp", "relay-tls", "relay-udp+relay-tls"
  bool tested = false;  // false: could not be tried (see error)
  bool first_bound = false;   // the relay acknowledged the bind: it hears us
  bool second_bound = false;
  int sent = 0;       // echo requests sent
  int answered = 0;   // replies that came back through the relay
  std::optional<double> median_rtt_ms;
  std::string error;  // why it was not tested, or what failed, one sentence
  double loss() const { return sent == 0 ? 1.0 : 1.0 - double(answered) / sent; }
};

// What the relay saw of us, for P2P. Addresses as UdpEndpoint::ToString writes them.
struct NatCheck {
  std::vector<std::string> local_addresses;  // this machine's addresses (any port)
  std::optional<std::string> mapped;         // the address:port the relay saw (first socket)
  std::optional<std::string> mapped_second;  // the same for a second socket
  int local_port = 0;                        // the first socket's local port
  int local_port_second = 0;
};

struct DoctorFacts {
  SignalingCheck signaling;
  std::vector<RelayPathCheck> relay_paths;
  NatCheck nat;
  std::string p2p_setting;  // "everyone", "contacts", "nobody", or empty if unknown
};

enum class PathVerdict { kWorks, kSlow, kBlocked, kNotTested };
// Works: at least one reply, median RTT ≤ 400 ms and loss ≤ 20 %; slow: replies but
// worse than that; blocked: tested, no reply; not tested: could not be tried.
PathVerdict Judge(const RelayPathCheck& check);
std::string_view ToString(PathVerdict verdict);  // "works", "slow", "blocked", "not tested"

// Whether the relay saw an address this machine does not have (NAT or a proxy; a
// loopback address counts as ours), and whether two sockets' mapped ports keep the same
// offset from their local ports (0 without NAT or with port preservation): a mapping
// the peer can aim at when punching. One relay address cannot prove endpoint-independent
// mapping; a predictable one is what simultaneous open needs in practice. nullopt when
// unknown (no mapped address seen).
std::optional<bool> BehindNat(const NatCheck& nat);
std::optional<bool> PredictableMapping(const NatCheck& nat);

// The path the path manager would prefer among those that work: p2p (only when the
// user's setting allows it and UDP reaches the relay, since P2P is UDP and needs the
// relay's view of our address) > relay-udp > relay-tls; nullopt if none works.
// "Works" includes slow.
std::optional<std::string> PreferredPath(const DoctorFacts& facts);
// Exit status for the command: 0 if a media path works, else 1.
int DoctorExitCode(const DoctorFacts& facts);

// The plain-words report, ending with "Calls will use: ..." or with what to try.
std::string FormatDoctorText(const DoctorFacts& facts);
// The same facts as one JSON object (pretty-printed), with the verdicts and the
// preferred path.
std::string FormatDoctorJson(const DoctorFacts& facts);

}  // namespace parley::signal
