// The capture callback's path allocates nothing: every operator new in this executable
// is counted, and the whole chain (far-end reference, echo canceller, suppressor, AGC,
// high-pass, metrics read every second) runs 5 s of blocks after a warm-up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "parley/base/random.h"
#include "parley/media/capture_processor.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace parley::media {
namespace {

TEST(CaptureProcessorAllocationTest, TheCallbackPathAllocatesNothing) {
  auto processor = AudioProcessor::Create(AudioProcessingConfig{});
  ASSERT_TRUE(processor.ok());
  auto reference = std::make_shared<FarEndReference>();
  CaptureProcessor capture(std::move(*processor), reference);
  SpscRing<Sample> out(8 * kBlockSamples);
  Random random(1);
  std::array<Sample, kBlockSamples> far{};
  std::array<Sample, kBlockSamples> mic{};
  std::array<Sample, kBlockSamples> got{};
  const TimePoint t0{seconds(10)};
  long before = 0;
  constexpr int kWarmUp = 200;
  for (int k = 0; k < kWarmUp + 500; ++k) {
    if (k == kWarmUp) before = g_allocations.load();
    for (size_t i = 0; i < kBlockSamples; ++i) {
      far[i] = static_cast<Sample>(random.Normal(0, 3000));
      mic[i] = static_cast<Sample>(far[i] / 3 + random.Normal(0, 300));
    }
    const TimePoint now = t0 + milliseconds(10 * k);
    reference->OnPlayed(far, now + milliseconds(40));            // output callback
    ASSERT_TRUE(capture.Push(mic, now, out));                    // input callback
    ASSERT_EQ(out.Read(got), kBlockSamples);                     // media thread
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(capture.stats().far_end_blocks_fed, 400u);
}

}  // namespace
}  // namespace parley::media
