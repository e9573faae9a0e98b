// PathSelfTest: echo requests from A to B through the relay, replies back, RTT and loss.
#include "parley/call/path_self_test.h"

#include <algorithm>
#include <array>

namespace parley::call {
namespace {

constexpr uint8_t kRequest = 1;
constexpr uint8_t kReply = 2;
constexpr std::size_t kHeaderBytes = 5;  // kind, request number (big-endian u32)
// Content sizes like an Opus frame's (40..167 bytes before padding), so the sealed
// sizes fall in the same buckets as a call's.
constexpr std::size_t kMinContentBytes = 40;

crypto::DirectionKeys FreshKeys(crypto::KeySource& keys) {
  std::array<uint8_t, 32> chain{}, header{};
  keys.Fill(chain);
  keys.Fill(header);
  crypto::DirectionKeys out{crypto::Secret<32>(std::span<const uint8_t, 32>(chain)),
                            crypto::Secret<32>(std::span<const uint8_t, 32>(header))};
  chain.fill(0);
  header.fill(0);
  return out;
}

}  // namespace

PathSelfTest::PathSelfTest(net::PacketPath& a, net::PacketPath& b, TimePoint start, crypto::KeySource& keys,
                           PathSelfTestOptions options)
    : a_(a), b_(b), start_(start), keys_(keys), options_(options) {
  const crypto::DirectionKeys ab = FreshKeys(keys_);
  const crypto::DirectionKeys ba = FreshKeys(keys_);
  a_to_b_sealer_ = std::make_unique<crypto::PacketSealer>(ab, start);
  a_to_b_opener_ = std::make_unique<crypto::PacketOpener>(ab);
  b_to_a_sealer_ = std::make_unique<crypto::PacketSealer>(ba, start);
  b_to_a_opener_ = std::make_unique<crypto::PacketOpener>(ba);
}

void PathSelfTest::Step(TimePoint now) {
  if (done_) return;
  a_.Tick(now);
  b_.Tick(now);
  if (!result_.a_ready && a_.ready()) {
    result_.a_ready = true;
    result_.a_ready_after = now - start_;
  }
  if (!result_.b_ready && b_.ready()) {
    result_.b_ready = true;
    result_.b_ready_after = now - start_;
  }
  Drain(b_, /*is_a=*/false, now);
  Drain(a_, /*is_a=*/true, now);

  if (!both_ready_at_) {
    if (result_.a_ready && result_.b_ready) {
      both_ready_at_ = now;
    } else {
      if (now - start_ >= options_.ready_timeout) done_ = true;
      return;
    }
  }
  const bool due = !last_request_at_ || now - *last_request_at_ >= options_.probe_interval;
  if (result_.requests_sent < options_.probes && due) {
    std::array<uint8_t, 1> random{};
    keys_.Fill(random);
    std::vector<uint8_t> content(kMinContentBytes + random[0] / 2, 0);
    const auto number = static_cast<uint32_t>(result_.requests_sent);
    content[0] = kRequest;
    for (int i = 0; i < 4; ++i) content[1 + i] = static_cast<uint8_t>(number >> (24 - 8 * i));
    auto sealed = a_to_b_sealer_->Seal(content, now);
    if (sealed.ok()) {
      (void)a_.Send(*sealed, now);  // a refused send is loss, which the result shows
      outstanding_[number] = now;
    }
    ++result_.requests_sent;
    last_request_at_ = now;
  }
  const bool all_sent = result_.requests_sent >= options_.probes;
  if (all_sent && (outstanding_.empty() || now - *last_request_at_ >= options_.reply_timeout)) done_ = true;
}

void PathSelfTest::Drain(net::PacketPath& path, bool is_a, TimePoint now) {
  while (auto packet = path.Receive(now)) {
    crypto::PacketOpener& opener = is_a ? *b_to_a_opener_ : *a_to_b_opener_;
    auto opened = opener.Open(*packet);
    if (!opened.ok() || opened->size() < kHeaderBytes) {
      ++result_.foreign_packets;
      continue;
    }
    const std::vector<uint8_t>& content = *opened;
    uint32_t number = 0;
    for (int i = 0; i < 4; ++i) number = (number << 8) | content[1 + i];
    if (!is_a && content[0] == kRequest) {
      ++result_.requests_received;
      std::vector<uint8_t> reply = content;  // same size back: the same bucket
      reply[0] = kReply;
      auto sealed = b_to_a_sealer_->Seal(reply, now);
      if (sealed.ok()) (void)b_.Send(*sealed, now);
    } else if (is_a && content[0] == kReply) {
      auto it = outstanding_.find(number);
      if (it == outstanding_.end()) continue;  // a duplicate
      rtts_.push_back(now - it->second);
      outstanding_.erase(it);
      ++result_.replies_received;
    } else {
      ++result_.foreign_packets;
    }
  }
}

PathSelfTestResult PathSelfTest::result() const {
  PathSelfTestResult out = result_;
  if (!rtts_.empty()) {
    std::vector<Duration> sorted = rtts_;
    std::sort(sorted.begin(), sorted.end());
    out.median_rtt = sorted[sorted.size() / 2];
  }
  return out;
}

}  // namespace parley::call
