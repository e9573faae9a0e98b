// Length edge cases (issue #7) for the media parsers: the media payload's size, its
// redundant-frame count and each copy's length varint, and a WAV file's chunk sizes
// (read by libsndfile behind ReadAudioMemory). Each table sets the length to 0, 1,
// remaining - 1, remaining, remaining + 1 and its type's maximum and expects the exact
// error sentence (or success).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "parley/media/media_packet.h"
#include "parley/media/wav_file.h"

#include "../length_case.h"

namespace parley::media {
namespace {

using test::ExpectOutcome;
using test::LengthCase;

void PutVarint(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

// sequence 7, timestamp 96000, then `count`.
std::vector<uint8_t> Header(uint8_t count) { return {0, 7, 0, 1, 0x77, 0x00, count}; }

// The payload's own size (no length field: the primary frame is whatever follows).
TEST(MediaLengthFieldsTest, PayloadSize) {
  const std::string shorter = " bytes is shorter than the 7-byte header";
  const std::vector<LengthCase> cases = {
      {"empty", 0, "media payload: 0" + shorter},
      {"one byte", 1, "media payload: 1" + shorter},
      {"header - 1", 6, "media payload: 6" + shorter},
      {"header only", 7, "media payload: the primary frame is empty"},
      {"header + 1", 8, ""},
      {"largest UDP payload", 65507, ""},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = Header(0);
    bytes.resize(c.length, 0x99);
    const auto packet = ParseMediaPacket(bytes);
    ExpectOutcome(packet, c);
    if (packet.ok()) {
      EXPECT_EQ(packet->primary.payload.size(), c.length - 7);
    }
  }
}

// The redundant-frame count (u8), each copy a valid 3-byte frame.
TEST(MediaLengthFieldsTest, RedundantCount) {
  const auto with_count = [](uint8_t count) {
    std::vector<uint8_t> bytes = Header(count);
    for (uint32_t i = 0; i < std::min<uint32_t>(count, 4); ++i) {
      PutVarint(bytes, 960 * (4 - i));  // oldest first
      PutVarint(bytes, 3);
      bytes.insert(bytes.end(), {1, 2, 3});
    }
    bytes.push_back(0xfc);  // the primary frame
    return bytes;
  };
  const std::vector<LengthCase> cases = {
      {"no copies", 0, ""},
      {"one copy", 1, ""},
      {"maximum", kMaxRedundantFrames, ""},
      {"maximum + 1", kMaxRedundantFrames + 1, "media payload: 3 redundant frames exceeds the maximum of 2"},
      {"u8 maximum", 255, "media payload: 255 redundant frames exceeds the maximum of 2"},
  };
  for (const LengthCase& c : cases) {
    const auto packet = ParseMediaPacket(with_count(static_cast<uint8_t>(c.length)));
    ExpectOutcome(packet, c);
    if (packet.ok()) {
      EXPECT_EQ(packet->redundant.size(), c.length);
    }
  }
}

// A copy's length varint, with 20 bytes after it.
TEST(MediaLengthFieldsTest, RedundantFrameLength) {
  constexpr uint64_t kRemaining = 20;
  const auto with_length = [](const std::vector<uint8_t>& length_varint) {
    std::vector<uint8_t> bytes = Header(1);
    PutVarint(bytes, 960);
    bytes.insert(bytes.end(), length_varint.begin(), length_varint.end());
    bytes.insert(bytes.end(), kRemaining, 0x42);
    return bytes;
  };
  const auto exceeds = [](uint64_t length) {
    return "media payload: redundant frame 1 length " + std::to_string(length) + " exceeds the 20 bytes left";
  };
  const std::vector<LengthCase> cases = {
      {"0", 0, "media payload: redundant frame 1 is empty (length 0)"},
      {"1", 1, ""},
      {"remaining - 1 (a 1-byte primary)", kRemaining - 1, ""},
      {"remaining (nothing left for the primary)", kRemaining, "media payload: the primary frame is empty"},
      {"remaining + 1", kRemaining + 1, exceeds(kRemaining + 1)},
      {"u32 maximum", UINT32_MAX, exceeds(UINT32_MAX)},
      {"u32 maximum + 1", uint64_t{UINT32_MAX} + 1,
       "media payload: redundant frame 1 length exceeds 32 bits"},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> varint;
    PutVarint(varint, c.length);
    const auto packet = ParseMediaPacket(with_length(varint));
    ExpectOutcome(packet, c);
    if (packet.ok()) {
      ASSERT_EQ(packet->redundant.size(), 1u);
      EXPECT_EQ(packet->redundant[0].payload.size(), c.length);
      EXPECT_EQ(packet->primary.payload.size(), kRemaining - c.length);
    }
  }
  // Encodings of the field itself: not minimal, six bytes long, cut off by the end.
  ExpectOutcome(ParseMediaPacket(with_length({0x81, 0x00})),
                {"1 in two bytes", 1, "media payload: redundant frame 1 length is not minimally encoded"});
  ExpectOutcome(ParseMediaPacket(with_length({0x80, 0x80, 0x80, 0x80, 0x80, 0x01})),
                {"six bytes", 0, "media payload: redundant frame 1 length is longer than 5 bytes"});
  std::vector<uint8_t> cut = Header(1);
  PutVarint(cut, 960);
  cut.push_back(0x80);
  ExpectOutcome(ParseMediaPacket(cut),
                {"cut off", 0, "media payload: redundant frame 1 length runs past the end of the payload"});
}

// A copy's timestamp offset: also a bounded varint (1..48000 samples back).
TEST(MediaLengthFieldsTest, RedundantOffset) {
  const auto with_offset = [](uint64_t offset) {
    std::vector<uint8_t> bytes = Header(1);
    PutVarint(bytes, offset);
    PutVarint(bytes, 2);
    bytes.insert(bytes.end(), {5, 6, 7});
    return bytes;
  };
  const auto too_far = [](uint64_t offset) {
    return "media payload: redundant frame 1 timestamp offset " + std::to_string(offset) +
           " exceeds the maximum of 48000 samples";
  };
  const std::vector<LengthCase> cases = {
      {"0", 0, "media payload: redundant frame 1 timestamp offset is 0; a copy must be older than the primary"},
      {"1", 1, ""},
      {"maximum", kMaxRedundantOffsetSamples, ""},
      {"maximum + 1", kMaxRedundantOffsetSamples + 1, too_far(kMaxRedundantOffsetSamples + 1)},
      {"u32 maximum", UINT32_MAX, too_far(UINT32_MAX)},
  };
  for (const LengthCase& c : cases) ExpectOutcome(ParseMediaPacket(with_offset(c.length)), c);
}

// A 48 kHz mono 16-bit WAV: RIFF, a 16-byte fmt chunk and a data chunk of `data_bytes`
// bytes of samples, with each size field replaceable.
struct Wav {
  std::optional<uint32_t> riff_size;  // empty: the true one
  uint32_t fmt_size = 16;
  uint32_t data_size = 0;  // the field
  std::size_t data_bytes = 200;

  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> out;
    const auto put = [&out](const char* four) {
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(four[i]));
    };
    const auto u32 = [&out](uint32_t v) {
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    const auto u16 = [&out](uint16_t v) {
      out.push_back(static_cast<uint8_t>(v));
      out.push_back(static_cast<uint8_t>(v >> 8));
    };
    put("RIFF");
    u32(riff_size.value_or(static_cast<uint32_t>(4 + 8 + 16 + 8 + data_bytes)));
    put("WAVE");
    put("fmt ");
    u32(fmt_size);
    u16(1);  // PCM
    u16(1);  // mono
    u32(48000);
    u32(96000);
    u16(2);
    u16(16);
    put("data");
    u32(data_size);
    for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<uint8_t>(i * 37));
    return out;
  }
};

// The data chunk's size field against 200 bytes (100 samples) that follow it.
// libsndfile reads what is there when the field claims more (as every WAV reader
// does for files whose writer died before fixing the size up).
TEST(MediaLengthFieldsTest, WavDataChunkSize) {
  const std::string no_audio = "cannot read test.wav: it contains no audio (0 frames)";
  const std::vector<LengthCase> cases = {
      {"0", 0, no_audio},
      {"1 (half a sample)", 1, no_audio},
      {"remaining - 1", 199, ""},
      {"remaining", 200, ""},
      {"remaining + 1", 201, ""},
      {"u32 maximum", UINT32_MAX, ""},
  };
  for (const LengthCase& c : cases) {
    Wav wav;
    wav.data_size = static_cast<uint32_t>(c.length);
    const auto bytes = wav.Bytes();
    const auto samples = ReadAudioMemory(bytes, "test.wav");
    ExpectOutcome(samples, c);
    // Never more samples than the bytes that are there.
    if (samples.ok()) {
      EXPECT_LE(samples->size(), 100u);
    }
  }
}

// The fmt chunk's size field (16 for PCM): libsndfile's own sentences, after the file's
// name. 17 makes the reader skip one byte of the data chunk's header.
TEST(MediaLengthFieldsTest, WavFmtChunkSize) {
  const std::string short_fmt = "cannot read test.wav: Error in WAV/W64/RF64 file. Short 'fmt ' chunk.";
  const std::vector<LengthCase> cases = {
      {"0", 0, short_fmt},
      {"1", 1, short_fmt},
      {"size - 1", 15, short_fmt},
      {"size", 16, ""},
      {"size + 1", 17, "cannot read test.wav: Error in WAV file. No 'data' chunk marker."},
      {"u32 maximum", UINT32_MAX, short_fmt},
  };
  for (const LengthCase& c : cases) {
    Wav wav;
    wav.fmt_size = static_cast<uint32_t>(c.length);
    wav.data_size = 200;
    const auto bytes = wav.Bytes();
    ExpectOutcome(ReadAudioMemory(bytes, "test.wav"), c);
  }
}

// The RIFF size field (the whole file after its first 8 bytes, 236 here): libsndfile
// reads the chunks that are there whatever it says, as players do.
TEST(MediaLengthFieldsTest, WavRiffSize) {
  const std::vector<LengthCase> cases = {
      {"0", 0, ""},
      {"1", 1, ""},
      {"remaining - 1", 235, ""},
      {"remaining", 236, ""},
      {"remaining + 1", 237, ""},
      {"u32 maximum", UINT32_MAX, ""},
  };
  for (const LengthCase& c : cases) {
    Wav wav;
    wav.riff_size = static_cast<uint32_t>(c.length);
    wav.data_size = 200;
    const auto bytes = wav.Bytes();
    const auto samples = ReadAudioMemory(bytes, "test.wav");
    ExpectOutcome(samples, c);
    if (samples.ok()) {
      EXPECT_EQ(samples->size(), 100u);
    }
  }
}

}  // namespace
}  // namespace parley::media
