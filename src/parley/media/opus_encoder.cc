// The send side's Opus encoder: libopus configured for 48 kHz mono VOIP speech.
#include "parley/media/opus_encoder.h"

#include <opus.h>

#include <algorithm>
#include <string>
#include <utility>

namespace parley::media {
namespace {

// RFC 6716, 3.2.1: one Opus frame is at most 1275 bytes; a packet of up to 6 frames
// (120 ms) adds its framing. At our 64 kbit/s cap, 120 ms is under 1000 bytes anyway.
constexpr int kMaxOpusPacketBytes = 1275 * 6 + 7;
// Below this libopus cannot code even a DTX packet of several frames.
constexpr int kMinPacketCapBytes = 3;
// The least expected loss libopus is told while FEC is on (see Apply).
constexpr int kMinFecLossPercent = 6;
// Opus codes a DTX frame as its TOC byte alone (1 byte, 2 with a count byte).
constexpr int kDtxMaxBytes = 2;

bool ValidFrameMs(int ms) {
  return ms == 10 || ms == 20 || ms == 40 || ms == 60 || ms == 80 || ms == 100 || ms == 120;
}

Error BadFrameMs(int ms) {
  return Error{"opus encoder: frame size " + std::to_string(ms) +
               " ms is not supported; use 10, 20, 40, 60, 80, 100 or 120"};
}

Error OpusError(const std::string& what, int code) {
  return Error{"opus encoder: " + what + ": " + opus_strerror(code)};
}

Status Validate(const OpusEncoderConfig& c) {
  if (!ValidFrameMs(c.frame_ms)) return BadFrameMs(c.frame_ms);
  if (c.bitrate_bps <= 0) {
    return Error{"opus encoder: bitrate " + std::to_string(c.bitrate_bps) +
                 " bit/s must be positive (it is clamped to 6000..64000)"};
  }
  if (c.expected_loss_percent < 0 || c.expected_loss_percent > 100) {
    return Error{"opus encoder: expected loss " + std::to_string(c.expected_loss_percent) +
                 " % is outside 0..100"};
  }
  if (c.max_packet_bytes != 0 && (c.max_packet_bytes < kMinPacketCapBytes || c.max_packet_bytes > kMaxOpusPacketBytes)) {
    return Error{"opus encoder: packet size cap " + std::to_string(c.max_packet_bytes) +
                 " bytes is outside 3.." + std::to_string(kMaxOpusPacketBytes) + " (0 for none)"};
  }
  if (c.complexity < 0 || c.complexity > 10) {
    return Error{"opus encoder: complexity " + std::to_string(c.complexity) +
                 " is outside 0..10"};
  }
  return Ok{};
}

}  // namespace

struct OpusEncoder::State {
  ::OpusEncoder* opus;
};

void OpusEncoder::StateDeleter::operator()(State* state) const {
  opus_encoder_destroy(state->opus);
  delete state;
}

OpusEncoder::OpusEncoder(std::unique_ptr<State, StateDeleter> state, uint32_t first_timestamp)
    : state_(std::move(state)), next_timestamp_(first_timestamp) {}

OpusEncoder::~OpusEncoder() = default;

Result<std::unique_ptr<OpusEncoder>> OpusEncoder::Create(const OpusEncoderConfig& config,
                                                         uint32_t first_timestamp) {
  if (Status valid = Validate(config); !valid) return valid.error();
  int error = OPUS_OK;
  ::OpusEncoder* raw = opus_encoder_create(kSampleRateHz, 1, OPUS_APPLICATION_VOIP, &error);
  if (error != OPUS_OK || raw == nullptr) return OpusError("cannot create", error);
  std::unique_ptr<State, StateDeleter> state(new State{raw});
  std::unique_ptr<OpusEncoder> encoder(new OpusEncoder(std::move(state), first_timestamp));
  if (opus_encoder_ctl(raw, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
      opus_encoder_ctl(raw, OPUS_SET_VBR(1)) != OPUS_OK) {
    return Error{"opus encoder: cannot select voice signal and VBR"};
  }
  if (Status applied = encoder->Apply(config); !applied) return applied.error();
  return encoder;
}

Status OpusEncoder::Apply(const OpusEncoderConfig& requested) {
  if (Status valid = Validate(requested); !valid) return valid;
  OpusEncoderConfig c = requested;
  c.bitrate_bps = std::clamp(c.bitrate_bps, kMinBitrateBps, kMaxBitrateBps);
  ::OpusEncoder* e = state_->opus;
  int rc = opus_encoder_ctl(e, OPUS_SET_BITRATE(c.bitrate_bps));
  if (rc != OPUS_OK) return OpusError("set bitrate", rc);
  rc = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(c.fec ? 1 : 0));
  if (rc != OPUS_OK) return OpusError("set FEC", rc);
  // With FEC on, libopus gets at least kMinFecLossPercent: at <= 5 % its decide_fec()
  // (src/opus_encoder.c) silently drops LBRR whenever the bitrate is short of the
  // threshold for the current bandwidth (e.g. fullband hybrid at 24 kbit/s), while
  // above 5 % it narrows the bandwidth until LBRR fits. At 0 % SILK codes no LBRR at all.
  const int loss = c.fec ? std::max(kMinFecLossPercent, c.expected_loss_percent)
                         : c.expected_loss_percent;
  rc = opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(loss));
  if (rc != OPUS_OK) return OpusError("set packet loss", rc);
  rc = opus_encoder_ctl(e, OPUS_SET_DTX(c.dtx ? 1 : 0));
  if (rc != OPUS_OK) return OpusError("set DTX", rc);
  rc = opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(c.complexity));
  if (rc != OPUS_OK) return OpusError("set complexity", rc);
  // Hybrid mode (super-wideband and up) codes 40 and 60 ms as 2-3 frames of 20 ms and
  // carries LBRR for the last 20 ms only, so a lost packet would be two thirds
  // concealed. SILK-only (wideband and below) has native 40/60 ms frames with LBRR for
  // all of them: with FEC on and long frames, cap the bandwidth at wideband.
  const int max_bandwidth =
      c.fec && c.frame_ms > 20 ? OPUS_BANDWIDTH_WIDEBAND : OPUS_BANDWIDTH_FULLBAND;
  rc = opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(max_bandwidth));
  if (rc != OPUS_OK) return OpusError("set bandwidth", rc);
  config_ = c;
  return Ok{};
}

Result<EncodedFrame> OpusEncoder::Encode(std::span<const Sample> pcm) {
  PARLEY_CHECK_MSG(static_cast<int>(pcm.size()) == FrameSamples(),
                   "Encode takes exactly one frame of FrameSamples() samples");
  EncodedFrame frame;
  frame.timestamp = next_timestamp_;
  next_timestamp_ += static_cast<uint32_t>(FrameSamples());
  // opus_encode's max_data_bytes is also libopus' way to cap a VBR packet: it codes the
  // frame at whatever rate fits.
  const int capacity = config_.max_packet_bytes > 0 ? config_.max_packet_bytes : kMaxOpusPacketBytes;
  frame.payload.resize(static_cast<size_t>(capacity));
  const opus_int32 bytes = opus_encode(state_->opus, pcm.data(), FrameSamples(),
                                       frame.payload.data(), capacity);
  if (bytes < 0) return OpusError("encode", bytes);
  frame.payload.resize(static_cast<size_t>(bytes));
  if (config_.dtx && bytes <= kDtxMaxBytes) frame.payload.clear();  // nothing to send
  return frame;
}

Status OpusEncoder::SetFrameMs(int frame_ms) {
  if (!ValidFrameMs(frame_ms)) return BadFrameMs(frame_ms);
  OpusEncoderConfig c = config_;
  c.frame_ms = frame_ms;  // opus_encode takes the frame size per call; Apply the bandwidth
  return Apply(c);
}

int OpusEncoder::SetBitrate(int bitrate_bps) {
  OpusEncoderConfig c = config_;
  c.bitrate_bps = std::max(1, bitrate_bps);
  PARLEY_CHECK(Apply(c).ok());  // a clamped bitrate is always accepted
  return config_.bitrate_bps;
}

Status OpusEncoder::SetFec(bool on, int expected_loss_percent) {
  OpusEncoderConfig c = config_;
  c.fec = on;
  c.expected_loss_percent = expected_loss_percent;
  return Apply(c);
}

void OpusEncoder::SetDtx(bool on) {
  OpusEncoderConfig c = config_;
  c.dtx = on;
  PARLEY_CHECK(Apply(c).ok());
}

Status OpusEncoder::SetMaxPacketBytes(int bytes) {
  OpusEncoderConfig c = config_;
  c.max_packet_bytes = bytes;
  return Apply(c);
}

Status OpusEncoder::SetComplexity(int complexity) {
  OpusEncoderConfig c = config_;
  c.complexity = complexity;
  return Apply(c);
}

int OpusEncoder::LookaheadSamples() const {
  opus_int32 lookahead = 0;
  PARLEY_CHECK(opus_encoder_ctl(state_->opus, OPUS_GET_LOOKAHEAD(&lookahead)) == OPUS_OK);
  return lookahead;
}

}  // namespace parley::media
