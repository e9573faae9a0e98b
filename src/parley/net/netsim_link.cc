// One direction of the simulated network (see netsim_link.h for the packet's path).
#include "parley/net/netsim_link.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "parley/base/check.h"

namespace parley::net {
namespace {

// Min-heap order on (at, order) for std::push_heap/pop_heap (which build max-heaps).
template <typename T>
bool Later(const T& a, const T& b) {
  if (a.at != b.at) return a.at > b.at;
  return a.order > b.order;
}

// size*8 bits at rate_bps, rounded up to whole nanoseconds.
Duration Serialization(size_t size, int64_t rate_bps) {
  unsigned __int128 bits_ns = static_cast<unsigned __int128>(size) * 8u * 1'000'000'000u;
  unsigned __int128 rate = static_cast<unsigned __int128>(rate_bps);
  return Duration{static_cast<int64_t>((bits_ns + rate - 1) / rate)};
}

}  // namespace

uint64_t NetsimDeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + (stream + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

NetsimLink::NetsimLink(NetsimSpec spec, uint64_t seed, TimePoint start)
    : spec_(std::move(spec)),
      start_(start),
      loss_random_(NetsimDeriveSeed(seed, 0)),
      jitter_random_(NetsimDeriveSeed(seed, 1)),
      dup_random_(NetsimDeriveSeed(seed, 2)),
      reorder_random_(NetsimDeriveSeed(seed, 3)),
      link_free_(start),
      last_arrival_(start) {}

Duration NetsimLink::Since(TimePoint t) const {
  return t < start_ ? Duration{0} : t - start_;
}

const NetsimConditions& NetsimLink::ConditionsAt(TimePoint t) const {
  return spec_.ConditionsAt(Since(t));
}

Duration NetsimLink::PropagationDelay(TimePoint t) const { return ConditionsAt(t).delay; }

Duration NetsimLink::Jitter(const NetsimConditions& c) {
  if (c.jitter.count() <= 0) return Duration{0};
  double extra_ns = jitter_random_.Exponential(static_cast<double>(c.jitter.count()));
  return Duration{std::llround(extra_ns)};
}

bool NetsimLink::Lose(const NetsimConditions& c) {
  if (c.burst_packets > 0) {
    std::pair<double, double> params{c.loss_percent, c.burst_packets};
    if (gilbert_elliott_params_ != params) {
      gilbert_elliott_.Set(c.loss_percent / 100, c.burst_packets);
      gilbert_elliott_params_ = params;
    }
    if (gilbert_elliott_.NextLost(loss_random_)) {
      ++stats_.lost_burst;
      return true;
    }
    return false;
  }
  if (c.loss_percent > 0 && loss_random_.Chance(c.loss_percent / 100)) {
    ++stats_.lost_random;
    return true;
  }
  return false;
}

std::optional<TimePoint> NetsimLink::Enqueue(const NetsimConditions& c, size_t size,
                                             TimePoint now) {
  if (c.rate_bps <= 0) return now;
  while (!in_queue_.empty() && in_queue_.front().finish <= now) {
    queued_bytes_ -= in_queue_.front().size;
    in_queue_.pop_front();
  }
  TimePoint begin = std::max(now, link_free_);
  bool full = false;
  switch (c.queue.unit) {
    case NetsimQueueLimit::Unit::kTime:
      full = begin - now > c.queue.time;
      break;
    case NetsimQueueLimit::Unit::kPackets:
      full = static_cast<int64_t>(in_queue_.size()) >= c.queue.packets;
      break;
    case NetsimQueueLimit::Unit::kBytes:
      full = !in_queue_.empty() && queued_bytes_ + size > static_cast<uint64_t>(c.queue.bytes);
      break;
  }
  if (full) {
    ++stats_.lost_queue;
    return std::nullopt;
  }
  link_free_ = begin + Serialization(size, c.rate_bps);
  in_queue_.push_back({link_free_, size});
  queued_bytes_ += size;
  return link_free_;
}

void NetsimLink::Schedule(NetsimPacket packet, TimePoint at) {
  heap_.push_back(Scheduled{at, next_order_++, std::move(packet)});
  std::push_heap(heap_.begin(), heap_.end(), Later<Scheduled>);
}

void NetsimLink::Send(std::vector<uint8_t> bytes, TimePoint now) {
  PARLEY_CHECK_MSG(now >= last_send_, "NetsimLink::Send: time went backwards");
  last_send_ = now;
  ++stats_.sent;
  uint64_t id = next_id_++;
  Duration since = Since(now);
  const NetsimConditions& c = spec_.ConditionsAt(since);

  if (spec_.InOutage(since)) {
    ++stats_.lost_outage;
    return;
  }
  if (Lose(c)) return;
  size_t size = bytes.size();
  std::optional<TimePoint> departure = Enqueue(c, size, now);
  if (!departure) return;

  TimePoint arrival = *departure + c.delay + Jitter(c);
  if (c.fifo) arrival = std::max(arrival, last_arrival_);
  last_arrival_ = std::max(last_arrival_, arrival);

  NetsimPacket packet{std::move(bytes), now, arrival, id, false};
  std::optional<NetsimPacket> copy;
  TimePoint copy_arrival;
  if (c.dup_percent > 0 && dup_random_.Chance(c.dup_percent / 100)) {
    // The copy follows its original by a jitter draw of its own (after it on ties).
    ++stats_.duplicated;
    copy = packet;
    copy->duplicate = true;
    copy_arrival = arrival + Jitter(c);
    last_arrival_ = std::max(last_arrival_, copy_arrival);
  }

  if (held_) {
    // This packet overtakes the held one, which comes right after it.
    TimePoint at = std::min(held_->fallback, std::max(held_->own, arrival + Duration{1}));
    Schedule(std::move(packet), arrival);
    Schedule(std::move(held_->packet), at);
    held_.reset();
  } else if (c.reorder_percent > 0 && reorder_random_.Chance(c.reorder_percent / 100)) {
    held_ = Held{std::move(packet), arrival, arrival + kReorderHoldLimit};
  } else {
    Schedule(std::move(packet), arrival);
  }
  if (copy) Schedule(std::move(*copy), copy_arrival);
}

std::vector<NetsimPacket> NetsimLink::Receive(TimePoint now) {
  PARLEY_CHECK_MSG(now >= last_receive_, "NetsimLink::Receive: time went backwards");
  last_receive_ = now;
  if (held_ && held_->fallback <= now) {
    Schedule(std::move(held_->packet), held_->fallback);
    held_.reset();
  }
  std::vector<NetsimPacket> out;
  while (!heap_.empty() && heap_.front().at <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), Later<Scheduled>);
    Scheduled s = std::move(heap_.back());
    heap_.pop_back();
    s.packet.delivered = s.at;
    if (!s.packet.duplicate) {
      if (highest_delivered_id_ && s.packet.id < *highest_delivered_id_) {
        ++stats_.reordered;
      } else {
        highest_delivered_id_ = s.packet.id;
      }
    }
    ++stats_.delivered;
    out.push_back(std::move(s.packet));
  }
  return out;
}

std::optional<TimePoint> NetsimLink::NextDeliveryTime() const {
  std::optional<TimePoint> next;
  if (!heap_.empty()) next = heap_.front().at;
  if (held_ && (!next || held_->fallback < *next)) next = held_->fallback;
  return next;
}

}  // namespace parley::net
