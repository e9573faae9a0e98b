// The lab censor's decisions for one packet at a time, per policy: logic without I/O
// (the NFQUEUE adapter netlab_censor.cc applies the verdicts and penalties).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "censor_rules.h"
#include "lab_packet.h"

namespace parley::netlab {

enum class CensorMode : uint8_t {
  kFullyEncrypted,  // GFW rule on each TCP flow's first client payload
  kAllowlist,       // Iran 2020: first payload on TCP 53/80/443 must be DNS, HTTP or TLS
  kSignatures,      // drop flows that look like STUN, RTP/RTCP, DTLS, WireGuard, MTProto, WhatsApp
};

// (client, server, server port) dropped for `seconds` by the router's nft set.
struct Penalty {
  uint32_t client_ip = 0;
  uint32_t server_ip = 0;
  uint16_t server_port = 0;
  int seconds = 0;
};

struct CensorVerdict {
  bool accept = true;
  std::optional<Penalty> penalty;
  std::string reason;  // one line for the censor's log when something was decided; empty otherwise
};

// Wu et al. (USENIX Security 2023) §4: a suspect first payload is blocked with this
// probability, and the triple then dropped for 120..180 s (we take 180).
inline constexpr double kGfwBlockProbability = 0.263;
inline constexpr int kGfwPenaltySeconds = 180;
// Bock et al. (FOCI 2020): the whitelister penalises a destination for 60 s.
inline constexpr int kAllowlistPenaltySeconds = 60;
// A DPI box classifies a flow on its first packets (nDPI gives up after about this
// many); later packets are not inspected.
inline constexpr int kSignaturePacketsInspected = 16;

// Not thread-safe: one queue thread calls Judge. Remembers every flow it has seen
// (the lab's runs are short).
class CensorJudge {
 public:
  // `uniform01` returns a uniform double in [0, 1) (seeded in tests and by --seed).
  CensorJudge(CensorMode mode, std::function<double()> uniform01);

  // The packet as the router forwards it (either direction). Packets that are not
  // TCP or UDP, or carry no payload, are accepted.
  CensorVerdict Judge(const LabPacket& packet);

 private:
  // A flow in both directions: the lower (ip, port) end first.
  using FlowKey = std::tuple<uint8_t, uint32_t, uint16_t, uint32_t, uint16_t>;
  static FlowKey KeyOf(const LabPacket& packet);

  CensorVerdict JudgeFirstPayload(const LabPacket& packet);
  CensorVerdict JudgeSignature(const LabPacket& packet);

  struct SignatureFlow {
    int inspected = 0;
    bool blocked = false;
  };

  CensorMode mode_;
  std::function<double()> uniform01_;
  std::set<FlowKey> judged_;                    // flows whose first payload was judged
  std::map<FlowKey, SignatureFlow> signature_;  // kSignatures: per-flow inspection state
};

}  // namespace parley::netlab
