// One direction of the simulated network: packets go in with Send, come out of Receive
// after delay, jitter, loss, queueing and the rest of a NetsimSpec.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "parley/base/random.h"
#include "parley/base/time.h"
#include "parley/net/gilbert_elliott.h"
#include "parley/net/netsim_spec.h"

namespace parley::net {

struct NetsimPacket {
  std::vector<uint8_t> bytes;
  TimePoint sent;
  TimePoint delivered;
  uint64_t id = 0;         // order of Send on this link, from 0; a duplicate has its original's id
  bool duplicate = false;  // the extra copy made by dup=
};

struct NetsimStats {
  uint64_t sent = 0;          // Send calls
  uint64_t delivered = 0;     // packets Receive handed out, duplicates included
  uint64_t lost_random = 0;   // Bernoulli loss (loss= without burst=)
  uint64_t lost_burst = 0;    // Gilbert-Elliott loss (loss= with burst=)
  uint64_t lost_outage = 0;   // sent during an outage
  uint64_t lost_queue = 0;    // drop-tail queue overflow at the rate limit
  uint64_t duplicated = 0;    // extra copies made
  uint64_t reordered = 0;     // originals delivered after an original sent later
  uint64_t lost() const { return lost_random + lost_burst + lost_outage + lost_queue; }
};

// Logic without I/O: it never reads a clock; every call takes the current time, which
// must not go backwards between Sends nor between Receives. Deterministic: the same
// spec, seed, start and calls give the same deliveries at the same times. Time 0 of the
// spec's script (steps, outages) is `start`; Sends before it get the initial conditions.
//
// A packet goes through, in this order (the conditions are those in force when sent):
//   outage -> loss (Bernoulli or Gilbert-Elliott) -> rate limit and drop-tail queue
//   -> delay + jitter -> fifo hold-back -> duplication -> reorder hold.
// Lost packets take no bandwidth. Each random choice (loss, jitter, dup, reorder) has a
// stream of its own, so turning one on does not change what the others decide.
// Cost: O(log n) per packet in flight; minutes of 50 packets/s take milliseconds.
class NetsimLink {
 public:
  NetsimLink(NetsimSpec spec, uint64_t seed, TimePoint start);

  // bytes.size() is what the rate limit charges (no header overhead is added).
  void Send(std::vector<uint8_t> bytes, TimePoint now);
  // Every packet delivered at or before `now`, in delivery order (Send order for ties).
  std::vector<NetsimPacket> Receive(TimePoint now);
  // When the next packet comes out, if any is in flight; for event-driven loops.
  std::optional<TimePoint> NextDeliveryTime() const;

  // Base one-way delay in force at t (no jitter, no queueing).
  Duration PropagationDelay(TimePoint t) const;
  const NetsimConditions& ConditionsAt(TimePoint t) const;
  const NetsimSpec& spec() const { return spec_; }
  TimePoint start() const { return start_; }
  const NetsimStats& stats() const { return stats_; }
  size_t in_flight() const { return heap_.size() + (held_ ? 1 : 0); }

 private:
  struct Scheduled {
    TimePoint at;
    uint64_t order;  // breaks ties so equal times come out in the order scheduled
    NetsimPacket packet;
  };
  struct Held {
    NetsimPacket packet;
    TimePoint own;       // when it would have arrived without the hold
    TimePoint fallback;  // own + kReorderHoldLimit: released then if nothing overtakes
  };

  Duration Since(TimePoint t) const;
  Duration Jitter(const NetsimConditions& c);
  void Schedule(NetsimPacket packet, TimePoint at);
  bool Lose(const NetsimConditions& c);
  // Applies the rate limit: the time the packet has left the bottleneck, or nothing if
  // the queue is full.
  std::optional<TimePoint> Enqueue(const NetsimConditions& c, size_t size, TimePoint now);

  NetsimSpec spec_;
  TimePoint start_;
  Random loss_random_;
  Random jitter_random_;
  Random dup_random_;
  Random reorder_random_;
  GilbertElliott gilbert_elliott_{0, 1};
  std::pair<double, double> gilbert_elliott_params_{0, 1};  // loss %, burst it was set from

  // Bottleneck: when the link is next free, and packets not yet fully serialized.
  struct InQueue {
    TimePoint finish;
    size_t size;
  };
  TimePoint link_free_;
  std::deque<InQueue> in_queue_;
  uint64_t queued_bytes_ = 0;

  std::vector<Scheduled> heap_;  // min-heap on (at, order)
  uint64_t next_order_ = 0;
  std::optional<Held> held_;
  TimePoint last_arrival_;       // latest arrival scheduled, for fifo
  uint64_t next_id_ = 0;
  std::optional<uint64_t> highest_delivered_id_;
  TimePoint last_send_ = TimePoint::min();
  TimePoint last_receive_ = TimePoint::min();
  NetsimStats stats_;
};

// A seed for stream `stream` of `seed` (SplitMix64 finalizer): nearby seeds and streams
// give unrelated sequences.
uint64_t NetsimDeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace parley::net
