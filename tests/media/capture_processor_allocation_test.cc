// The capture callback's path allocates nothing: every operator new and (outside the
// sanitizer build, whose runtime owns malloc) every malloc-family call in this process
// is counted, so the C code inside webrtc-audio-processing is watched too, and the whole
// chain (far-end reference, echo canceller, suppressor, AGC, high-pass, metrics read
// every second) runs 5 s of blocks after a warm-up.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "parley/base/random.h"
#include "parley/media/capture_processor.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// A sanitizer's runtime owns malloc (and frees what it allocated): only plain builds
// count malloc itself.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PARLEY_COUNT_MALLOC 0
#else
#define PARLEY_COUNT_MALLOC 1
#endif

#if PARLEY_COUNT_MALLOC
// glibc's allocator under its internal names, so that these definitions, which every
// library in the process binds to, can count and forward.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(alignment, size);
  return *out ? 0 : ENOMEM;
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
}
#endif

void* operator new(std::size_t size) {
#if !PARLEY_COUNT_MALLOC
  g_allocations.fetch_add(1, std::memory_order_relaxed);  // malloc counts it otherwise
#endif
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

#if PARLEY_COUNT_MALLOC
TEST(CaptureProcessorAllocationTest, AMallocInsideAnotherLibraryIsCounted) {
  const long before = g_allocations.load();
  char* copy = strdup("counted");  // libc's own malloc call, not this file's
  ASSERT_NE(copy, nullptr);
  std::free(copy);
  EXPECT_GT(g_allocations.load(), before);
}
#endif

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
