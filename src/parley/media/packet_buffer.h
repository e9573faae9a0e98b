// The jitter buffer's storage: encoded frames keyed by unwrapped timestamp, waiting to be
// decoded. Knows what was already played, so late and duplicate copies are told apart.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace parley::media {

// One encoded frame as stored. Timestamps are unwrapped (see unwrapper.h), in 48 kHz samples.
struct StoredFrame {
  int64_t timestamp = 0;      // first sample
  int frame_samples = 0;      // > 0, what the decoder says the frame decodes to
  int64_t sequence = 0;       // unwrapped sequence of the packet that carried it as primary
                              // (inferred for a redundant copy: see jitter_buffer.cc, Insert)
  bool primary = true;        // false: a redundant copy from a later packet
  std::vector<uint8_t> payload;

  int64_t end_timestamp() const { return timestamp + frame_samples; }
};

enum class InsertOutcome {
  kStored,             // new frame held
  kReplacedRedundant,  // a primary copy replaced the redundant copy held for it
  kDuplicatePrimary,   // a primary copy of a frame already held or played from its primary
  kRedundantUnneeded,  // a redundant copy of a frame already held or already past
  kLate,               // a primary copy of a frame whose playout time has passed
};

struct InsertResult {
  InsertOutcome outcome = InsertOutcome::kStored;
  int frames_dropped_for_space = 0;  // oldest frames discarded to stay within the bound
};

// Invariants: every held frame starts at or after the playout position (once one is set);
// the held frames' total length is at most max_samples (the oldest go first when a new
// frame would exceed it: they are the stalest, and the caller skips them without
// concealment). Single context (the jitter buffer's); no clock.
class PacketBuffer {
 public:
  explicit PacketBuffer(int max_samples);

  InsertResult Insert(StoredFrame frame);

  // Everything before `timestamp` has been consumed (played, concealed or skipped): frames
  // that start before it are discarded, and later copies of them are late. Returns the
  // number of held frames discarded. The position may only move forward.
  int SetPlayoutTimestamp(int64_t timestamp);
  std::optional<int64_t> playout_timestamp() const { return playout_timestamp_; }

  // Records that the frame at `timestamp` was played from a copy (primary or redundant),
  // so a later copy counts as a duplicate (primary played) or as late (otherwise).
  void MarkPlayed(int64_t timestamp, bool from_primary);

  // The frame starting exactly at `timestamp`, or null.
  const StoredFrame* Find(int64_t timestamp) const;
  // The first held frame starting at or after `timestamp`, or null.
  const StoredFrame* FirstAtOrAfter(int64_t timestamp) const;
  const StoredFrame* Oldest() const;

  // Removes and returns the frame at `timestamp` (which must be held).
  StoredFrame Take(int64_t timestamp);
  void DropOldest();
  void Clear();

  bool empty() const { return frames_.empty(); }
  int num_frames() const { return static_cast<int>(frames_.size()); }
  int num_samples() const { return num_samples_; }  // sum of held frames' lengths
  int max_samples() const { return max_samples_; }

 private:
  void Erase(std::map<int64_t, StoredFrame>::iterator it);

  int max_samples_;
  int num_samples_ = 0;
  std::map<int64_t, StoredFrame> frames_;
  std::optional<int64_t> playout_timestamp_;
  // Recently played frames (timestamp -> played from its primary copy); bounded, oldest
  // first out, so only recent history is remembered.
  std::map<int64_t, bool> played_;
};

}  // namespace parley::media
