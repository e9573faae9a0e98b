// OpusEncoder and OpusDecoder against real libopus output: round trip, bitrate, frame
// sizes, in-band FEC (and the LBRR probe), DTX, concealment and malformed input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "codec_test_signals.h"
#include "parley/base/random.h"
#include "parley/media/opus_decoder.h"
#include "parley/media/opus_encoder.h"

namespace parley::media {
namespace {

using testing::Correlation;
using testing::SnrDb;
using testing::SquaredError;
using testing::VoicedSignal;
using ::testing::HasSubstr;

std::unique_ptr<OpusEncoder> MakeEncoder(OpusEncoderConfig config = {}) {
  auto encoder = OpusEncoder::Create(config);
  EXPECT_TRUE(encoder.ok()) << (encoder.ok() ? "" : encoder.error().message);
  return std::move(encoder).value();
}

std::unique_ptr<OpusDecoder> MakeDecoder() {
  auto decoder = OpusDecoder::Create();
  EXPECT_TRUE(decoder.ok());
  return std::move(decoder).value();
}

// Encodes `pcm` frame by frame (a trailing partial frame is dropped).
std::vector<EncodedFrame> EncodeAll(OpusEncoder& encoder, std::span<const Sample> pcm) {
  std::vector<EncodedFrame> frames;
  const size_t n = static_cast<size_t>(encoder.FrameSamples());
  for (size_t pos = 0; pos + n <= pcm.size(); pos += n) {
    auto frame = encoder.Encode(pcm.subspan(pos, n));
    EXPECT_TRUE(frame.ok());
    frames.push_back(std::move(frame).value());
  }
  return frames;
}

Samples DecodeAll(OpusDecoder& decoder, const std::vector<EncodedFrame>& frames) {
  Samples out;
  Samples block(kMaxFrameSamples);
  for (const EncodedFrame& f : frames) {
    const int n = decoder.Decode(f.payload, block);
    EXPECT_GT(n, 0);
    out.insert(out.end(), block.begin(), block.begin() + std::max(n, 0));
  }
  return out;
}

double MeanBytes(const std::vector<EncodedFrame>& frames) {
  double total = 0;
  for (const EncodedFrame& f : frames) total += static_cast<double>(f.payload.size());
  return total / static_cast<double>(frames.size());
}

TEST(OpusEncoderTest, RejectsBadConfigWithClearErrors) {
  struct Case {
    OpusEncoderConfig config;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({{.frame_ms = 25}, "frame size 25 ms is not supported"});
  cases.push_back({{.frame_ms = 0}, "frame size 0 ms is not supported"});
  cases.push_back({{.bitrate_bps = 0}, "bitrate 0 bit/s must be positive"});
  cases.push_back({{.bitrate_bps = -5}, "bitrate -5 bit/s must be positive"});
  cases.push_back({{.expected_loss_percent = 101}, "expected loss 101 % is outside 0..100"});
  cases.push_back({{.expected_loss_percent = -1}, "expected loss -1 % is outside 0..100"});
  cases.push_back({{.complexity = 11}, "complexity 11 is outside 0..10"});
  cases.push_back({{.complexity = -1}, "complexity -1 is outside 0..10"});
  cases.push_back({{.frame_ms = 140}, "use 10, 20, 40, 60, 80, 100 or 120"});
  cases.push_back({{.max_packet_bytes = 2}, "packet size cap 2 bytes is outside 3.."});
  cases.push_back({{.max_packet_bytes = -1}, "packet size cap -1 bytes"});
  for (const Case& c : cases) {
    auto encoder = OpusEncoder::Create(c.config);
    ASSERT_FALSE(encoder.ok()) << c.message;
    EXPECT_THAT(encoder.error().message, HasSubstr(c.message));
  }
}

TEST(OpusEncoderTest, ExposesAndClampsSettings) {
  auto encoder = MakeEncoder({.bitrate_bps = 1000});
  EXPECT_EQ(encoder->config().bitrate_bps, kMinBitrateBps);
  EXPECT_EQ(encoder->SetBitrate(100000), kMaxBitrateBps);
  EXPECT_EQ(encoder->SetBitrate(-3), kMinBitrateBps);
  EXPECT_EQ(encoder->SetBitrate(32000), 32000);
  EXPECT_EQ(encoder->config().bitrate_bps, 32000);

  ASSERT_TRUE(encoder->SetFec(true, 15).ok());
  EXPECT_TRUE(encoder->config().fec);
  EXPECT_EQ(encoder->config().expected_loss_percent, 15);
  EXPECT_FALSE(encoder->SetFec(true, 200).ok());
  EXPECT_EQ(encoder->config().expected_loss_percent, 15);  // a refused change changes nothing

  encoder->SetDtx(true);
  EXPECT_TRUE(encoder->config().dtx);
  ASSERT_TRUE(encoder->SetComplexity(3).ok());
  EXPECT_EQ(encoder->config().complexity, 3);
  EXPECT_FALSE(encoder->SetComplexity(42).ok());

  ASSERT_TRUE(encoder->SetFrameMs(40).ok());
  EXPECT_EQ(encoder->FrameSamples(), 1920);
  Status bad = encoder->SetFrameMs(30);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("30 ms"));
  EXPECT_EQ(encoder->config().frame_ms, 40);
}

TEST(OpusEncoderTest, LookaheadIsVoipDelay) {
  EXPECT_EQ(MakeEncoder()->LookaheadSamples(), 312);
}

TEST(OpusEncoderTest, TimestampsAdvanceByFrameLength) {
  auto created = OpusEncoder::Create({.frame_ms = 10}, 0xFFFFFF00u);
  ASSERT_TRUE(created.ok());
  OpusEncoder& encoder = **created;
  const Samples pcm = VoicedSignal(kMaxFrameSamples);
  auto a = encoder.Encode(std::span(pcm).first(480));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->timestamp, 0xFFFFFF00u);
  ASSERT_TRUE(encoder.SetFrameMs(60).ok());
  auto b = encoder.Encode(std::span(pcm).first(2880));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->timestamp, 0xFFFFFF00u + 480);  // wraps past 2^32
  EXPECT_EQ(encoder.next_timestamp(), 0xFFFFFF00u + 480 + 2880);
}

TEST(OpusEncoderDeathTest, WrongFrameLengthIsAProgrammingError) {
  auto encoder = MakeEncoder();
  const Samples pcm(100);
  EXPECT_DEATH((void)encoder->Encode(pcm), "exactly one frame");
}

// Opus delays its output by the encoder's look-ahead (312 samples). Its VOIP high-pass
// filter (60..100 Hz) also advances the phase a little, so the best alignment is found
// within a few samples of the look-ahead.
TEST(OpusCodecTest, RoundTripOfVoicedSignalIsClose) {
  const Samples input = VoicedSignal(2 * kSampleRateHz);
  double previous_snr = 0;
  for (int bitrate : {12000, 24000, 48000}) {
    auto encoder = MakeEncoder({.bitrate_bps = bitrate});
    auto decoder = MakeDecoder();
    const Samples output = DecodeAll(*decoder, EncodeAll(*encoder, input));
    ASSERT_EQ(output.size(), input.size());
    const int delay = encoder->LookaheadSamples();
    // Skip the first 200 ms (the encoder settling) and compare the rest.
    const size_t skip = 200 * kSamplesPerMs;
    std::span<const Sample> in = std::span(input).subspan(skip, input.size() - skip - 400);
    int best_lag = 0;
    double best = -1;
    for (int lag = delay - 40; lag <= delay + 40; ++lag) {
      const double c = Correlation(in, std::span(output).subspan(skip + lag, in.size()));
      if (c > best) {
        best = c;
        best_lag = lag;
      }
    }
    EXPECT_GE(best_lag, delay - 6) << bitrate;
    EXPECT_LE(best_lag, delay) << bitrate;
    EXPECT_GT(best, 0.93) << bitrate;
    const double snr = SnrDb(in, std::span(output).subspan(skip + best_lag, in.size()));
    EXPECT_GT(snr, 9) << bitrate;
    EXPECT_GT(snr, previous_snr) << bitrate;  // more bits, closer waveform
    previous_snr = snr;
  }
}

TEST(OpusCodecTest, PacketSizesTrackBitrate) {
  const Samples input = VoicedSignal(3 * kSampleRateHz);
  double previous = 0;
  for (int bitrate : {8000, 16000, 32000, 64000}) {
    auto encoder = MakeEncoder({.bitrate_bps = bitrate});
    const double mean = MeanBytes(EncodeAll(*encoder, input));
    const double expected = bitrate / 8.0 * 0.020;  // bytes per 20 ms frame
    EXPECT_GT(mean, expected * 0.6) << bitrate;
    EXPECT_LT(mean, expected * 1.4) << bitrate;
    EXPECT_GT(mean, previous * 1.4) << bitrate;
    previous = mean;
  }
}

TEST(OpusCodecTest, BitrateChangeWhileRunningChangesPacketSizes) {
  const Samples input = VoicedSignal(4 * kSampleRateHz);
  auto encoder = MakeEncoder({.bitrate_bps = 12000});
  const size_t half = input.size() / 2;
  auto low = EncodeAll(*encoder, std::span(input).first(half));
  encoder->SetBitrate(48000);
  auto high = EncodeAll(*encoder, std::span(input).subspan(half));
  // Skip the first frames after the change while the rate control adapts.
  high.erase(high.begin(), high.begin() + 10);
  EXPECT_GT(MeanBytes(high), 2.5 * MeanBytes(low));
}

TEST(OpusCodecTest, FrameSizesDecodeToTheirLength) {
  const Samples input = VoicedSignal(kSampleRateHz);
  auto encoder = MakeEncoder();
  auto decoder = MakeDecoder();
  Samples out(kMaxFrameSamples);
  size_t pos = 0;
  for (int ms : {10, 20, 40, 60, 80, 100, 120, 20, 10, 120, 60}) {
    ASSERT_TRUE(encoder->SetFrameMs(ms).ok());
    auto frame = encoder->Encode(std::span(input).subspan(pos, encoder->FrameSamples()));
    pos += static_cast<size_t>(encoder->FrameSamples());
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ(decoder->FrameSamples(frame->payload), ms * kSamplesPerMs) << ms;
    EXPECT_EQ(decoder->Decode(frame->payload, out), ms * kSamplesPerMs) << ms;
  }
}

// In-band FEC on real encoder output: with FEC on, LBRR follows every frame of active
// speech (SILK skips it where its voice activity is low, here at the envelope's
// troughs), never in the first packet; with FEC off, never. libopus 1.3 codes no LBRR
// below about 20 kbit/s whatever is asked, so the rates here are 24 and 32 kbit/s.
TEST(OpusCodecTest, HasFecFollowsEncoderFecSetting) {
  const Samples input = VoicedSignal(2 * kSampleRateHz);
  auto decoder = MakeDecoder();
  for (int ms : {10, 20, 40, 60, 120}) {
    for (int bitrate : {24000, 32000}) {
      for (int loss : {1, 10, 25}) {
        for (bool fec : {false, true}) {
          auto encoder = MakeEncoder(
              {.frame_ms = ms, .bitrate_bps = bitrate, .fec = fec, .expected_loss_percent = loss});
          const auto frames = EncodeAll(*encoder, input);
          ASSERT_GE(frames.size(), 16u);
          EXPECT_FALSE(decoder->HasFec(frames[0].payload));
          int with_fec = 0;
          for (size_t i = 1; i < frames.size(); ++i) with_fec += decoder->HasFec(frames[i].payload);
          const std::string where = std::to_string(ms) + " ms, " + std::to_string(bitrate) +
                                    " bit/s, " + std::to_string(loss) + " % loss";
          if (fec) {
            EXPECT_GT(with_fec, static_cast<int>(frames.size()) / 2) << where;
          } else {
            EXPECT_EQ(with_fec, 0) << where;
          }
        }
      }
    }
  }
}

// The LBRR probe agrees bit for bit with libopus' own reading: decoding packet N+1 with
// decode_fec=1 gives exactly the concealment output when N+1 has no LBRR, and something
// else when it has. Checked on SILK-only packets in steady state (the same TOC config
// as the two packets before), where no mode or bandwidth switch changes the output.
TEST(OpusCodecTest, HasFecAgreesWithLibopusFecDecoding) {
  const Samples input = VoicedSignal(kSampleRateHz);
  int checked_with = 0, checked_without = 0;
  for (int ms : {10, 20, 40, 60, 80, 120}) {
    for (int bitrate : {16000, 24000, 32000}) {
      for (bool fec : {false, true}) {
        auto encoder = MakeEncoder(
            {.frame_ms = ms, .bitrate_bps = bitrate, .fec = fec, .expected_loss_percent = 10});
        const auto frames = EncodeAll(*encoder, input);
        const int n = encoder->FrameSamples();
        for (size_t i = 2; i < frames.size(); ++i) {
          const int config = frames[i].payload[0] >> 3;
          if (config >= 12 || frames[i - 1].payload[0] >> 3 != config ||
              frames[i - 2].payload[0] >> 3 != config) {
            continue;
          }
          auto a = MakeDecoder();
          auto b = MakeDecoder();
          Samples x(kMaxFrameSamples), y(kMaxFrameSamples);
          for (size_t j = 0; j + 1 < i; ++j) {
            ASSERT_EQ(a->Decode(frames[j].payload, x), n);
            ASSERT_EQ(b->Decode(frames[j].payload, y), n);
          }
          ASSERT_EQ(a->DecodeFec(frames[i].payload, n, x), n);
          ASSERT_EQ(b->Conceal(n, y), n);
          const bool differs = !std::equal(x.begin(), x.begin() + n, y.begin());
          const bool has_fec = a->HasFec(frames[i].payload);
          EXPECT_EQ(has_fec, differs) << ms << " ms, " << bitrate << " bit/s, packet " << i;
          (has_fec ? checked_with : checked_without)++;
        }
      }
    }
  }
  EXPECT_GT(checked_with, 50);
  EXPECT_GT(checked_without, 20);
}

// FEC with 0 % expected loss would code no LBRR in libopus; the encoder passes more.
TEST(OpusCodecTest, FecWithLowExpectedLossStillCodesLbrr) {
  const Samples input = VoicedSignal(kSampleRateHz);
  for (int loss : {0, 1, 5}) {
    auto encoder = MakeEncoder({.bitrate_bps = 24000, .fec = true, .expected_loss_percent = loss});
    const auto frames = EncodeAll(*encoder, input);
    int with_fec = 0;
    for (const EncodedFrame& f : frames) with_fec += OpusPacketHasLbrr(f.payload);
    EXPECT_GT(with_fec, static_cast<int>(frames.size()) / 2) << loss;
    EXPECT_EQ(encoder->config().expected_loss_percent, loss);  // reported as requested
  }
}

TEST(OpusCodecTest, HasFecOnRealSpeech) {
  auto speech = testing::LoadSpeech("speech_en_male.wav");
  if (!speech) GTEST_SKIP() << "PARLEY_TESTDATA not set or speech missing";
  for (bool fec : {false, true}) {
    auto encoder = MakeEncoder({.bitrate_bps = 24000, .fec = fec, .expected_loss_percent = 10});
    const auto frames = EncodeAll(*encoder, *speech);
    int with_fec = 0;
    for (const EncodedFrame& f : frames) with_fec += OpusPacketHasLbrr(f.payload);
    if (fec) {
      // LBRR is coded for active speech only; the file has 0.5 s of silence at each end.
      EXPECT_GT(with_fec, static_cast<int>(frames.size()) / 2);
    } else {
      EXPECT_EQ(with_fec, 0);
    }
  }
}

// A lost frame N recovered from the LBRR in packet N+1 is far closer to what the
// decoder would have played from N itself than concealment is. (Compared with the
// decoded frame rather than the input, so the codec's own error and the high-pass
// filter's phase shift do not blur the comparison.)
TEST(OpusCodecTest, FecRecoversALostFrameFarBetterThanConcealment) {
  const Samples input = VoicedSignal(2 * kSampleRateHz);
  for (int ms : {10, 20, 40, 60}) {
    auto encoder = MakeEncoder(
        {.frame_ms = ms, .bitrate_bps = 24000, .fec = true, .expected_loss_percent = 20});
    const auto frames = EncodeAll(*encoder, input);
    const int n = encoder->FrameSamples();
    double fec_error = 0, plc_error = 0, energy = 0;
    int losses = 0;
    // Lose one frame at a time, at several places; decode it from FEC or conceal it.
    for (size_t lost = 5; lost + 1 < frames.size(); lost += (ms >= 40 ? 1 : 3)) {
      if (!OpusPacketHasLbrr(frames[lost + 1].payload)) continue;
      auto with_fec = MakeDecoder();
      auto with_plc = MakeDecoder();
      auto clean = MakeDecoder();
      Samples x(kMaxFrameSamples), y(kMaxFrameSamples), z(kMaxFrameSamples);
      for (size_t i = 0; i < lost; ++i) {
        ASSERT_EQ(with_fec->Decode(frames[i].payload, x), n);
        ASSERT_EQ(with_plc->Decode(frames[i].payload, y), n);
        ASSERT_EQ(clean->Decode(frames[i].payload, z), n);
      }
      ASSERT_EQ(with_fec->DecodeFec(frames[lost + 1].payload, n, x), n);
      ASSERT_EQ(with_plc->Conceal(n, y), n);
      ASSERT_EQ(clean->Decode(frames[lost].payload, z), n);
      std::span<const Sample> played = std::span(z).first(static_cast<size_t>(n));
      fec_error += SquaredError(played, std::span(x).first(played.size()));
      plc_error += SquaredError(played, std::span(y).first(played.size()));
      energy += SquaredError(played, Samples(played.size()));
      ++losses;
    }
    ASSERT_GT(losses, 5) << ms;
    EXPECT_LT(fec_error, 0.25 * plc_error) << ms;
    EXPECT_LT(fec_error, 0.4 * energy) << ms;
  }
}

TEST(OpusCodecTest, DtxOnSilenceMostlySendsNothing) {
  const Samples silence(3 * kSampleRateHz);
  auto encoder = MakeEncoder({.dtx = true});
  const auto frames = EncodeAll(*encoder, silence);
  int nothing = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    nothing += frames[i].payload.empty();
    EXPECT_EQ(frames[i].timestamp, i * 960u);  // timestamps advance, sent or not
  }
  EXPECT_GT(nothing, static_cast<int>(frames.size()) * 3 / 4);
  // Without DTX every frame is sent.
  auto plain = MakeEncoder({.dtx = false});
  for (const EncodedFrame& f : EncodeAll(*plain, silence)) EXPECT_FALSE(f.payload.empty());
  // And speech after silence is sent again.
  const Samples voice = VoicedSignal(kSampleRateHz / 2);
  int sent = 0;
  for (const EncodedFrame& f : EncodeAll(*encoder, voice)) sent += !f.payload.empty();
  EXPECT_GE(sent, 23);
}

// Data saving's 120 ms packets: libopus codes them as several 60 ms SILK frames in one
// packet; the cap keeps VBR's larger packets out of the next padding bucket, and DTX
// still leaves silence unsent.
TEST(OpusCodecTest, LongPacketsWithACapStayUnderIt) {
  const Samples input = VoicedSignal(3 * kSampleRateHz);
  auto uncapped = MakeEncoder({.frame_ms = 120, .bitrate_bps = 6000});
  auto capped = MakeEncoder({.frame_ms = 120, .bitrate_bps = 6000, .max_packet_bytes = 70});
  const auto loose = EncodeAll(*uncapped, input);
  const auto tight = EncodeAll(*capped, input);
  ASSERT_EQ(tight.size(), 25u);
  size_t loose_max = 0;
  for (const EncodedFrame& f : loose) loose_max = std::max(loose_max, f.payload.size());
  EXPECT_GT(loose_max, 70u) << "the cap is not tested unless VBR goes above it";
  auto decoder = MakeDecoder();
  Samples out(kMaxFrameSamples);
  for (const EncodedFrame& f : tight) {
    EXPECT_LE(f.payload.size(), 70u);
    EXPECT_GE(f.payload.size(), 40u);
    EXPECT_EQ(decoder->FrameSamples(f.payload), 120 * kSamplesPerMs);
    EXPECT_EQ(decoder->Decode(f.payload, out), 120 * kSamplesPerMs);
  }
  // At 6 kbit/s SILK keeps the voice, not the waveform: compare energy, not shape.
  const Samples decoded = DecodeAll(*MakeDecoder(), tight);
  ASSERT_EQ(decoded.size(), 25u * 120 * kSamplesPerMs);
  double in_energy = 0, out_energy = 0;
  for (size_t i = 0; i < decoded.size(); ++i) {
    in_energy += double(input[i]) * input[i];
    out_energy += double(decoded[i]) * decoded[i];
  }
  EXPECT_GT(out_energy, in_energy / 10);
  EXPECT_LT(out_energy, in_energy * 10);
  ASSERT_TRUE(capped->SetMaxPacketBytes(0).ok());
  EXPECT_EQ(capped->config().max_packet_bytes, 0);
  EXPECT_FALSE(capped->SetMaxPacketBytes(1).ok());

  auto dtx = MakeEncoder({.frame_ms = 120, .bitrate_bps = 6000, .dtx = true, .max_packet_bytes = 96});
  const auto silent = EncodeAll(*dtx, Samples(3 * kSampleRateHz));
  int nothing = 0;
  for (const EncodedFrame& f : silent) nothing += f.payload.empty();
  EXPECT_GT(nothing, static_cast<int>(silent.size()) / 2);
}

TEST(OpusDecoderTest, ConcealmentFadesAndValidatesLength) {
  auto encoder = MakeEncoder();
  auto decoder = MakeDecoder();
  const Samples input = VoicedSignal(kSampleRateHz / 2);
  DecodeAll(*decoder, EncodeAll(*encoder, input));
  Samples out(kMaxFrameSamples);
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(decoder->Conceal(480, out), 480);
    const double e = SquaredError(std::span(out).first(480), Samples(480));
    if (i == 0) first = e;
    last = e;
  }
  EXPECT_GT(first, 0);
  EXPECT_LT(last, first * 0.1);
  EXPECT_EQ(decoder->Conceal(100, out), -1);   // not a multiple of 2.5 ms
  EXPECT_EQ(decoder->Conceal(0, out), -1);
  EXPECT_EQ(decoder->Conceal(960, std::span(out).first(480)), -1);  // too small
  EXPECT_EQ(decoder->DecodeFec(std::vector<uint8_t>{}, 960, out), -1);
}

TEST(OpusDecoderTest, MalformedPacketsReturnMinusOne) {
  auto encoder = MakeEncoder();
  auto decoder = MakeDecoder();
  const Samples input = VoicedSignal(960);
  auto good = encoder->Encode(input);
  ASSERT_TRUE(good.ok());
  Samples out(kMaxFrameSamples);
  const std::vector<std::vector<uint8_t>> bad = {
      {},                                   // empty
      {0x03},                               // code 3 without its frame-count byte
      {0x03, 0x00},                         // code 3, zero frames
      {0x03, 0x31},                         // code 3, 49 frames (over 120 ms)
      {0x01, 0x01},                         // code 1: two equal frames from an odd length
      {0x02, 0xFF},                         // code 2: first frame length past the end
      {0x02, 0xFC, 0xFF, 0x00},             // code 2: two-byte length past the end
  };
  for (const auto& packet : bad) {
    EXPECT_EQ(decoder->FrameSamples(packet), -1) << ::testing::PrintToString(packet);
    EXPECT_EQ(decoder->Decode(packet, out), -1) << ::testing::PrintToString(packet);
    EXPECT_FALSE(decoder->HasFec(packet));
  }
  // A good packet into too small a buffer is refused, not overrun.
  EXPECT_EQ(decoder->Decode(good->payload, std::span(out).first(100)), -1);
  EXPECT_EQ(decoder->Decode(good->payload, out), 960);
}

TEST(OpusDecoderTest, RandomBytesNeverCrash) {
  auto decoder = MakeDecoder();
  Random random(7);
  Samples out(5760);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> packet(static_cast<size_t>(random.Between(0, 80)));
    for (uint8_t& b : packet) b = static_cast<uint8_t>(random.Next());
    const int samples = decoder->FrameSamples(packet);
    const int decoded = decoder->Decode(packet, out);
    EXPECT_TRUE(decoded == -1 || decoded == samples);
    (void)decoder->HasFec(packet);
    (void)decoder->DecodeFec(packet, 960, out);
  }
}

}  // namespace
}  // namespace parley::media
