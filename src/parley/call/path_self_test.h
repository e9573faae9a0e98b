// One media path pair tested end to end through the relay (`parley doctor`): side A
// (participant 0) sends sealed echo requests, side B (participant 1) answers each, so a
// reply proves that the relay hears both and reaches both. docs/protocol.md, "Path self-test".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "parley/base/time.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"
#include "parley/net/packet_path.h"

namespace parley::call {

struct PathSelfTestOptions {
  int probes = 6;                                  // echo requests A sends once both sides are ready
  Duration probe_interval = milliseconds(100);
  Duration ready_timeout = seconds(4);             // both binds must be acknowledged by then
  Duration reply_timeout = milliseconds(1500);     // after the last request, for its reply
};

// What one run found. "Ready" is the path's own word: the relay acknowledged the bind
// (it hears this side); a reply to a request proves the relay forwards both ways.
struct PathSelfTestResult {
  bool a_ready = false;
  bool b_ready = false;
  std::optional<Duration> a_ready_after, b_ready_after;  // since the start
  int requests_sent = 0;
  int requests_received = 0;  // by B: the relay reached B
  int replies_received = 0;   // by A: the round trip worked
  int foreign_packets = 0;    // arrived but did not open under the test keys
  std::optional<Duration> median_rtt;  // over the replies
  // Fraction of requests without a reply, 0..1; 1 when nothing could be sent.
  double loss() const { return requests_sent == 0 ? 1.0 : 1.0 - double(replies_received) / requests_sent; }
  bool works() const { return replies_received > 0; }
};

// Logic without I/O around two PacketPaths (real ones in parley doctor, simulated ones in
// tests): Step ticks both, sends what is due and reads what arrived. The test packets
// are sealed with keys drawn from `keys` for this run only (one per direction), padded
// to the bucket sizes, so they look like every other sealed packet on the wire and each
// side opens only what the other side sealed. Not thread-safe: one thread calls Step.
// The paths must outlive the object. `now` must not go backwards.
class PathSelfTest {
 public:
  PathSelfTest(net::PacketPath& a, net::PacketPath& b, TimePoint start, crypto::KeySource& keys,
               PathSelfTestOptions options = {});

  // Ticks both paths, sends due requests, answers and collects arrivals. Call every
  // few milliseconds until done().
  void Step(TimePoint now);
  bool done() const { return done_; }
  PathSelfTestResult result() const;

 private:
  void Drain(net::PacketPath& path, bool is_a, TimePoint now);

  net::PacketPath& a_;
  net::PacketPath& b_;
  const TimePoint start_;
  crypto::KeySource& keys_;
  const PathSelfTestOptions options_;
  std::unique_ptr<crypto::PacketSealer> a_to_b_sealer_, b_to_a_sealer_;
  std::unique_ptr<crypto::PacketOpener> a_to_b_opener_, b_to_a_opener_;
  std::optional<TimePoint> both_ready_at_;
  std::optional<TimePoint> last_request_at_;
  std::map<uint32_t, TimePoint> outstanding_;  // request number -> when sent
  std::vector<Duration> rtts_;
  PathSelfTestResult result_;
  bool done_ = false;
};

}  // namespace parley::call
