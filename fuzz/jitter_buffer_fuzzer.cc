// Fuzzes the jitter buffer: bytes become a schedule of packet arrivals (sequence and
// timestamp jumps, duplicates, reordering, redundancy, frame sizes, garbage) and pulls,
// decoded by the test fake; every pull checks the buffer's invariants.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "../tests/media/fake_audio_decoder.h"
#include "parley/media/jitter_buffer.h"

namespace {

using namespace parley;
using namespace parley::media;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "jitter_buffer_fuzzer: invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr int kFrameSamples[] = {120, 240, 480, 960, 1920, 2880, 960, 960, 100, 5760};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int max_delay_ms = in.PickValueInArray({100, 300, 1000});
  const int min_delay_ms = in.ConsumeIntegralInRange(0, 120);
  const JitterBufferConfig config{.arrival_quantile = in.PickValueInArray({0.5, 0.9, 0.97, 1.0}),
                                  .min_delay_ms = std::min(min_delay_ms, max_delay_ms),
                                  .max_delay_ms = max_delay_ms};
  fake::FakeAudioDecoder decoder(in.ConsumeBool() ? fake::FakeSignal::kTone : fake::FakeSignal::kMarker);
  JitterBuffer jb(decoder, config);

  uint16_t sequence = in.ConsumeIntegral<uint16_t>();
  uint32_t timestamp = in.ConsumeIntegral<uint32_t>();
  int frame_samples = 960;
  std::deque<EncodedFrame> sent;  // recent frames, for duplicates and redundant copies
  TimePoint now{};
  uint64_t packets = 0, frames_offered = 0;

  while (in.remaining_bytes() > 0) {
    const uint8_t op = in.ConsumeIntegral<uint8_t>();
    if (op < 140) {
      // A packet: usually the next frame, sometimes a jump, a repeat or an old one.
      MediaPacket p;
      switch (op % 8) {
        case 0: sequence = static_cast<uint16_t>(sequence + in.ConsumeIntegralInRange(2, 5)); break;  // loss
        case 1: timestamp += static_cast<uint32_t>(in.ConsumeIntegralInRange(1, 200) * 960); break;  // DTX
        case 2: frame_samples = in.PickValueInArray(kFrameSamples); break;
        case 3: timestamp += in.ConsumeIntegral<uint32_t>(); sequence = in.ConsumeIntegral<uint16_t>(); break;
        default: break;
      }
      EncodedFrame primary{timestamp, fake::FakePayload(timestamp, frame_samples, in.ConsumeIntegral<uint8_t>() & 3)};
      if (op % 16 == 15) primary.payload = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 12));
      if (op % 32 == 7 && !sent.empty()) primary = sent[in.ConsumeIntegralInRange<size_t>(0, sent.size() - 1)];
      p.sequence = sequence;
      p.primary = primary;
      const int copies = in.ConsumeIntegralInRange(0, 2);
      for (int i = copies; i > 0; --i) {
        if (static_cast<size_t>(i) <= sent.size()) p.redundant.push_back(sent[sent.size() - static_cast<size_t>(i)]);
      }
      const auto arrival = now + microseconds(in.ConsumeIntegralInRange(0, 9999));
      jb.Insert(p, arrival);
      ++packets;
      frames_offered += 1 + p.redundant.size();
      sent.push_back(primary);
      if (sent.size() > 8) sent.pop_front();
      sequence = static_cast<uint16_t>(sequence + 1);
      timestamp += static_cast<uint32_t>(frame_samples);
    } else {
      const int pulls = 1 + (op % 4);  // 1 to 4 pulls
      for (int i = 0; i < pulls; ++i) {
        std::array<Sample, kBlockSamples> out;
        out.fill(12345);
        jb.Pull(now, out);
        now += milliseconds(10);
        const JitterBufferStats s = jb.stats();
        Check(s.packets_received == packets, "every packet is counted");
        Check(s.frames_decoded + s.frames_from_redundancy <= frames_offered, "played at most what came");
        Check(s.frames_decoded <= packets, "primaries played at most once");
        Check(s.target_delay_ms >= config.min_delay_ms || s.target_delay_ms == config.max_delay_ms, "target >= min");
        Check(s.target_delay_ms <= config.max_delay_ms, "target <= max");
        Check(s.current_delay_ms <= std::max(config.max_delay_ms, 120) + 400, "buffered audio is bounded");
        Check(s.dtx_ms + s.underrun_ms <= s.concealed_ms + 1, "dtx and underrun are parts of concealment");
        Check(s.duplicate_frames + s.late_frames <= packets, "duplicates and late are primaries");
      }
    }
  }
  return 0;
}
