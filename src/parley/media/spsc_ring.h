// A lock-free single-producer single-consumer ring: how samples cross between the
// audio callback and the media thread without locks, allocation or system calls.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <type_traits>

#include "parley/base/check.h"

namespace parley::media {

// A fixed-capacity FIFO of trivially copyable items (samples) between exactly two
// threads: one producer calls Write/WriteAvailable, one consumer calls
// Read/ReadAvailable/Skip. Any thread may call capacity(). Memory is allocated once,
// in the constructor; Write and Read never allocate, block, lock or make system calls,
// so they are safe in an audio callback.
//
// Invariant: 0 <= write_index_ - read_index_ <= capacity(). The indices count items
// since construction (64-bit: they never wrap in practice) and each is stored by only
// one side: the producer publishes write_index_ with release after copying the items
// in, the consumer reads it with acquire before copying them out (and the other way
// round for read_index_), so an item is never read before it is written nor overwritten
// before it is read. Each side also caches the other's index to touch the shared cache
// line only when the cached value says the ring looks full/empty.
template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied with memcpy semantics");

 public:
  // capacity >= 1 items; rounded up to a power of two so positions are a mask away.
  explicit SpscRing(size_t capacity)
      : capacity_(RoundUpToPowerOfTwo(capacity)),
        mask_(capacity_ - 1),
        items_(std::make_unique<T[]>(capacity_)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }

  // Producer: copies as many leading items of `in` as fit and returns how many.
  size_t Write(std::span<const T> in) {
    const uint64_t write = write_index_.load(std::memory_order_relaxed);
    if (write - producer_read_cache_ + in.size() > capacity_) {
      producer_read_cache_ = read_index_.load(std::memory_order_acquire);
    }
    const size_t free = capacity_ - static_cast<size_t>(write - producer_read_cache_);
    const size_t n = std::min(free, in.size());
    const size_t at = static_cast<size_t>(write) & mask_;
    const size_t first = std::min(n, capacity_ - at);
    std::copy_n(in.data(), first, items_.get() + at);
    std::copy_n(in.data() + first, n - first, items_.get());
    write_index_.store(write + n, std::memory_order_release);
    return n;
  }

  // Producer: how many items Write would take now (at least; the consumer may free more).
  size_t WriteAvailable() const {
    const uint64_t write = write_index_.load(std::memory_order_relaxed);
    return capacity_ - static_cast<size_t>(write - read_index_.load(std::memory_order_acquire));
  }

  // Consumer: moves up to out.size() items into `out` and returns how many.
  size_t Read(std::span<T> out) {
    const uint64_t read = read_index_.load(std::memory_order_relaxed);
    if (consumer_write_cache_ - read < out.size()) {
      consumer_write_cache_ = write_index_.load(std::memory_order_acquire);
    }
    const size_t n = std::min(static_cast<size_t>(consumer_write_cache_ - read), out.size());
    const size_t at = static_cast<size_t>(read) & mask_;
    const size_t first = std::min(n, capacity_ - at);
    std::copy_n(items_.get() + at, first, out.data());
    std::copy_n(items_.get(), n - first, out.data() + first);
    read_index_.store(read + n, std::memory_order_release);
    return n;
  }

  // Consumer: drops up to `count` items (the oldest) and returns how many it dropped.
  size_t Skip(size_t count) {
    const uint64_t read = read_index_.load(std::memory_order_relaxed);
    consumer_write_cache_ = write_index_.load(std::memory_order_acquire);
    const size_t n = std::min(static_cast<size_t>(consumer_write_cache_ - read), count);
    read_index_.store(read + n, std::memory_order_release);
    return n;
  }

  // Consumer: how many items Read would return now (at least; the producer may add more).
  size_t ReadAvailable() const {
    const uint64_t read = read_index_.load(std::memory_order_relaxed);
    return static_cast<size_t>(write_index_.load(std::memory_order_acquire) - read);
  }

 private:
  static size_t RoundUpToPowerOfTwo(size_t n) {
    PARLEY_CHECK_MSG(n >= 1 && n <= (size_t{1} << 40), "ring capacity out of range");
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }

  // 64 bytes apart so the two sides do not bounce one cache line between cores.
  static constexpr size_t kLine = 64;

  const size_t capacity_;
  const size_t mask_;
  const std::unique_ptr<T[]> items_;
  alignas(kLine) std::atomic<uint64_t> write_index_{0};  // stored by the producer only
  uint64_t producer_read_cache_ = 0;                      // producer's view of read_index_
  alignas(kLine) std::atomic<uint64_t> read_index_{0};   // stored by the consumer only
  uint64_t consumer_write_cache_ = 0;                     // consumer's view of write_index_
};

static_assert(std::atomic<uint64_t>::is_always_lock_free, "the ring must be lock-free");

}  // namespace parley::media
