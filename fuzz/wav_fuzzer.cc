// Fuzzes reading audio from memory (libsndfile, downmix, resampling to 48 kHz): any
// input gives samples or a clear error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "parley/media/wav_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto read = parley::media::ReadAudioMemory(std::span<const uint8_t>(data, size), "fuzz");
  if (!read.ok() && read.error().message.rfind("cannot read fuzz: ", 0) != 0) std::abort();
  return 0;
}
