// The adaptation lab's loop: a 10 ms tick drives both ends' capture, the two simulated
// links (with UDP/IP's 28 bytes charged at the bottleneck), playout and timers.
#include "parley/call/adaptation_lab.h"

#include <algorithm>
#include <array>
#include <deque>
#include <memory>

#include "parley/call/call_media.h"
#include "parley/crypto/call_keys.h"
#include "parley/net/netsim_link.h"
#include "parley/net/netsim_spec.h"

namespace parley::call {
namespace {

constexpr std::size_t kUdpIpBytes = 28;

crypto::CallKeys LabKeys(crypto::Role role) {
  crypto::Secret<32> prk;
  for (std::size_t i = 0; i < 32; ++i) prk.data()[i] = static_cast<uint8_t>(0xA5 ^ i);
  return crypto::DeriveCallKeys(prk, role);
}

// One end's transport: sends into `out` with 28 bytes standing in for UDP/IP, so the
// bottleneck charges them; the receiving end strips them.
// Also tracks the busiest one-second window of what it sent (wire bytes).
class LinkTransport final : public MediaTransport {
 public:
  LinkTransport(net::NetsimLink& out, TimePoint window_from) : out_(out), window_from_(window_from) {}
  void Send(std::span<const uint8_t> sealed, TimePoint now) override {
    std::vector<uint8_t> bytes(sealed.begin(), sealed.end());
    bytes.resize(bytes.size() + kUdpIpBytes);
    if (now >= window_from_) {
      window_.push_back({now, bytes.size()});
      window_bytes_ += bytes.size();
      while (now - window_.front().first >= seconds(1)) {
        window_bytes_ -= window_.front().second;
        window_.pop_front();
      }
      max_window_bytes_ = std::max(max_window_bytes_, window_bytes_);
    }
    out_.Send(std::move(bytes), now);
  }
  std::optional<ReceivedPacket> Receive(TimePoint) override { return std::nullopt; }
  // Bytes in the busiest window of one second (packets sent less than 1 s apart).
  std::size_t max_window_bytes() const { return max_window_bytes_; }

 private:
  net::NetsimLink& out_;
  TimePoint window_from_;
  std::deque<std::pair<TimePoint, std::size_t>> window_;
  std::size_t window_bytes_ = 0;
  std::size_t max_window_bytes_ = 0;
};

}  // namespace

std::vector<AdaptationPreset> AdaptationPresets() {
  return {
      {"bottleneck", "30 ms each way; a 24 kbit/s bottleneck (200 ms drop-tail queue) from 10 s to 30 s",
       "delay=30ms;at=10s:rate=24kbit;at=30s:rate=off", 45},
      {"loss-steps", "30 ms each way; 15 % random loss from 10 s to 25 s", "delay=30ms;at=10s:loss=15%;at=25s:loss=0%",
       40},
      {"rtt-steps", "20 ms each way, 150 ms from 10 s to 20 s", "delay=20ms;at=10s:delay=150ms;at=20s:delay=20ms", 30},
      {"outage", "30 ms each way; nothing gets through from 10 s to 13 s", "delay=30ms,outage=10s+3s", 25},
      {"address-change", "30 ms each way; at 10 s a new network: 1 s silent, then 60 ms",
       "delay=30ms,outage=10s+1s;at=11s:delay=60ms", 25},
      {"data-saving", "30 ms each way, the caller asks for data saving", "delay=30ms", 20, true},
  };
}

Result<AdaptationLabReport> RunAdaptationLab(const AdaptationLabConfig& config, std::span<const media::Sample> speech) {
  if (speech.empty()) return Error{"lab input is empty: give it some speech"};
  auto spec = net::ParseNetsimSpecOrPreset(config.network);
  if (!spec) return spec.error();
  const TimePoint start{};
  net::NetsimLink forward(*spec, config.seed, start);
  net::NetsimLink reverse(*spec, net::NetsimDeriveSeed(config.seed, 7), start);
  LinkTransport a_out(forward, start + seconds(2)), b_out(reverse, start + seconds(2));
  std::vector<double> queue_delays_ms;

  CallMediaConfig a_config;
  a_config.adapt_bitrate = config.adapt_bitrate;
  a_config.bitrate.data_saving = config.data_saving;
  CallMediaConfig b_config;
  b_config.adapt_bitrate = config.adapt_bitrate;
  b_config.first_timestamp = 0x12345678;
  auto a = CallMedia::Create(LabKeys(crypto::Role::kCaller), a_config, a_out, start);
  if (!a) return a.error();
  auto b = CallMedia::Create(LabKeys(crypto::Role::kCallee), b_config, b_out, start);
  if (!b) return b.error();

  AdaptationLabReport report;
  report.network = net::DescribeNetsimSpec(*spec);
  std::array<media::Sample, media::kBlockSamples> block{}, out{};
  std::size_t position = 0;
  AdaptationSecond second;
  uint64_t sent_at_second_start = 0, lost_at_second_start = 0, delivered_bytes = 0;
  const auto ticks = static_cast<int64_t>(config.duration_s * 100);
  for (int64_t tick = 1; tick <= ticks; ++tick) {
    const TimePoint now = start + milliseconds(10 * tick);
    for (media::Sample& s : block) {
      s = speech[position];
      position = (position + 1) % speech.size();
    }
    if (Status s = (*a)->OnCapturedBlock(block, now); !s) return s.error();
    if (Status s = (*b)->OnCapturedBlock(block, now); !s) return s.error();
    for (net::NetsimPacket& p : forward.Receive(now)) {
      delivered_bytes += p.bytes.size();
      // Waiting behind other packets: what is left after propagation and the packet's
      // own serialization at the bottleneck.
      const int64_t rate = forward.ConditionsAt(p.sent).rate_bps;
      const double serialization_ms = rate > 0 ? static_cast<double>(p.bytes.size()) * 8000.0 / static_cast<double>(rate) : 0;
      const double queued_ms =
          std::max(0.0, ToMillis(p.delivered - p.sent - forward.PropagationDelay(p.sent)) - serialization_ms);
      second.queue_delay_max_ms = std::max(second.queue_delay_max_ms, queued_ms);
      queue_delays_ms.push_back(queued_ms);
      p.bytes.resize(p.bytes.size() - kUdpIpBytes);
      (*b)->OnPacket(p.bytes, now);
    }
    for (net::NetsimPacket& p : reverse.Receive(now)) {
      p.bytes.resize(p.bytes.size() - kUdpIpBytes);
      (*a)->OnPacket(p.bytes, now);
    }
    (*a)->Pull(now, out);
    (*b)->Pull(now, out);
    if (Status s = (*a)->OnTick(now); !s) return s.error();
    if (Status s = (*b)->OnTick(now); !s) return s.error();

    if (tick % 100 == 0) {
      const CallMediaStats& as = (*a)->stats();
      const CallMediaStats& bs = (*b)->stats();
      second.t_s = static_cast<double>(tick) / 100;
      second.target_kbps = as.target_wire_kbps;
      second.opus_bitrate_bps = as.opus_bitrate_bps;
      second.frame_ms = as.frame_ms;
      second.fec = as.fec;
      second.redundant_copies = as.redundant_copies;
      second.wire_kbps = as.send_wire_kbps;
      second.delivered_kbps = static_cast<double>(delivered_bytes) * 8 / 1000;
      const uint64_t sent = forward.stats().sent - sent_at_second_start;
      const uint64_t lost = forward.stats().lost() - lost_at_second_start;
      second.loss_fraction = sent == 0 ? 0 : static_cast<double>(lost) / static_cast<double>(sent);
      second.mos = bs.mos.value_or(0);
      second.concealed_fraction = bs.receive_loss_after_recovery;
      report.seconds.push_back(second);
      second = AdaptationSecond{};
      sent_at_second_start = forward.stats().sent;
      lost_at_second_start = forward.stats().lost();
      delivered_bytes = 0;
    }
  }
  double wire = 0, mos = 0;
  int mos_count = 0;
  for (const AdaptationSecond& s : report.seconds) {
    wire += s.wire_kbps;
    report.max_queue_delay_ms = std::max(report.max_queue_delay_ms, s.queue_delay_max_ms);
    if (s.mos > 0) {
      mos += s.mos;
      ++mos_count;
    }
  }
  if (!report.seconds.empty()) report.mean_wire_kbps = wire / static_cast<double>(report.seconds.size());
  if (mos_count > 0) report.mean_mos = mos / mos_count;
  report.max_window_wire_kbps = static_cast<double>(a_out.max_window_bytes()) * 8 / 1000;
  if (!queue_delays_ms.empty()) {
    const auto p95 = queue_delays_ms.begin() + static_cast<std::ptrdiff_t>(queue_delays_ms.size() * 95 / 100);
    std::nth_element(queue_delays_ms.begin(), p95, queue_delays_ms.end());
    report.queue_delay_p95_ms = *p95;
  }
  return report;
}

}  // namespace parley::call
