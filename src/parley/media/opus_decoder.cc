// The receive side's Opus decoder, plus the LBRR (in-band FEC) probe libopus 1.3 lacks.
#include "parley/media/opus_decoder.h"

#include <opus.h>

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

namespace parley::media {
namespace {

constexpr int kSamplesPer2_5Ms = kSampleRateHz / 400;  // 120: Opus' duration granularity
constexpr int kSilkFrameSamples = 20 * kSamplesPerMs;  // SILK codes 20 ms frames (10 ms alone)

// Opus lengths are opus_int32; our frames are far smaller, so anything larger is bogus.
bool TooLong(std::span<const uint8_t> bytes) { return bytes.size() > INT_MAX / 2; }

}  // namespace

bool OpusPacketHasLbrr(std::span<const uint8_t> packet) {
  if (packet.empty() || TooLong(packet)) return false;
  const unsigned char* frames[48];
  opus_int16 sizes[48];
  unsigned char toc = 0;
  const int count = opus_packet_parse(packet.data(), static_cast<opus_int32>(packet.size()),
                                      &toc, frames, sizes, nullptr);
  if (count <= 0 || sizes[0] <= 0) return false;
  // RFC 6716, 3.1: configurations 0..11 are SILK-only, 12..15 hybrid, 16..31 CELT-only.
  const int config = toc >> 3;
  if (config >= 16) return false;
  // A packet of several Opus frames (data saving's 120 ms: two of 60 ms) carries LBRR
  // per frame; libopus' FEC decode uses the first frame's, which covers the end of the
  // packet before, so that is the one read here (tested against libopus at 80/120 ms).
  // RFC 6716, 4.2.3: the first Opus frame starts with one VAD flag per SILK frame
  // (1 for 10 and 20 ms, 2 for 40 ms, 3 for 60 ms) and then the LBRR flag, each coded
  // with probability 1/2, i.e. as the top bits of the frame's first byte.
  const int frame_samples = opus_packet_get_samples_per_frame(packet.data(), kSampleRateHz);
  const int silk_frames = std::max(1, frame_samples / kSilkFrameSamples);
  return ((frames[0][0] >> (7 - silk_frames)) & 1) != 0;
}

struct OpusDecoder::State {
  ::OpusDecoder* opus;
};

void OpusDecoder::StateDeleter::operator()(State* state) const {
  opus_decoder_destroy(state->opus);
  delete state;
}

OpusDecoder::OpusDecoder(std::unique_ptr<State, StateDeleter> state) : state_(std::move(state)) {}

OpusDecoder::~OpusDecoder() = default;

Result<std::unique_ptr<OpusDecoder>> OpusDecoder::Create() {
  int error = OPUS_OK;
  ::OpusDecoder* raw = opus_decoder_create(kSampleRateHz, 1, &error);
  if (error != OPUS_OK || raw == nullptr) {
    return Error{std::string("opus decoder: cannot create: ") + opus_strerror(error)};
  }
  std::unique_ptr<State, StateDeleter> state(new State{raw});
  return std::unique_ptr<OpusDecoder>(new OpusDecoder(std::move(state)));
}

int OpusDecoder::FrameSamples(std::span<const uint8_t> frame) const {
  if (frame.empty() || TooLong(frame)) return -1;
  const auto len = static_cast<opus_int32>(frame.size());
  const unsigned char* frames[48];
  opus_int16 sizes[48];
  // Full structural check first: opus_packet_get_nb_samples reads only the header.
  if (opus_packet_parse(frame.data(), len, nullptr, frames, sizes, nullptr) <= 0) return -1;
  const int samples = opus_packet_get_nb_samples(frame.data(), len, kSampleRateHz);
  return samples > 0 ? samples : -1;
}

bool OpusDecoder::HasFec(std::span<const uint8_t> frame) const {
  return OpusPacketHasLbrr(frame);
}

int OpusDecoder::Decode(std::span<const uint8_t> frame, std::span<Sample> out) {
  // An empty packet would make opus_decode conceal; here it is malformed input.
  if (frame.empty() || TooLong(frame) || out.empty()) return -1;
  const int capacity = static_cast<int>(std::min<size_t>(out.size(), INT_MAX));
  const int n = opus_decode(state_->opus, frame.data(), static_cast<opus_int32>(frame.size()),
                            out.data(), capacity, 0);
  return n >= 0 ? n : -1;
}

int OpusDecoder::DecodeFec(std::span<const uint8_t> next_frame, int samples,
                           std::span<Sample> out) {
  if (next_frame.empty() || TooLong(next_frame)) return -1;
  if (samples <= 0 || samples % kSamplesPer2_5Ms != 0 || samples > kMaxFrameSamples * 2 ||
      static_cast<size_t>(samples) > out.size()) {
    return -1;
  }
  const int n = opus_decode(state_->opus, next_frame.data(),
                            static_cast<opus_int32>(next_frame.size()), out.data(), samples, 1);
  return n >= 0 ? n : -1;
}

int OpusDecoder::Conceal(int samples, std::span<Sample> out) {
  if (samples <= 0 || samples % kSamplesPer2_5Ms != 0 || static_cast<size_t>(samples) > out.size()) {
    return -1;
  }
  const int n = opus_decode(state_->opus, nullptr, 0, out.data(), samples, 0);
  if (n != samples) {
    std::fill_n(out.begin(), samples, Sample{0});
  }
  return samples;
}

}  // namespace parley::media
