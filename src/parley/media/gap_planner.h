// What to do when the frame due for playout is missing but a later frame is held: was it
// lost or was the sender silent (DTX), and how is the gap filled (FEC, PLC, comfort noise).
#pragma once

#include <cstdint>
#include <optional>

namespace parley::media {

// All lengths are samples at 48 kHz.
struct GapInput {
  int gap_samples = 0;     // from the playout position to the held frame (> 0)
  int waited_samples = 0;  // concealment already played at this position, waiting
  std::optional<int64_t> previous_sequence;  // packet of the last frame played, if known
  int64_t next_sequence = 0;                 // packet of the held frame
  int next_frame_samples = 0;
  bool next_has_fec = false;  // the held frame carries in-band FEC for the one before it
  int last_frame_samples = 960;
  int buffered_samples = 0;  // decoded-but-unplayed + held frames
  int target_samples = 0;
  int max_conceal_samples = 0;  // a loss gap longer than this is skipped, not concealed
};

struct GapPlan {
  bool dtx = false;  // the sender paused (no packet missing); otherwise frames were lost

  // Loss: frames counted lost, PLC still to produce, then FEC for the last fec_samples of
  // the gap. skip: what's left of the gap was too long to conceal; jump over it.
  int lost_frames = 0;
  int plc_samples = 0;
  int fec_samples = 0;
  bool skip = false;

  // DTX: comfort noise still to play before the talk spurt (0: start it now).
  int comfort_noise_samples = 0;
};

// Classification: the sequence numbers decide. If the held frame's packet directly
// follows the last played one (sequence + 1) nothing was lost and the timestamp jump is
// a DTX pause; otherwise the missing sequence numbers are the lost frames (estimated
// from the gap and the last frame length when the previous sequence is unknown).
//
// Loss: PLC covers what waiting did not (gap − waited), except the last frame's worth,
// which comes from the held frame's FEC if it carries some. FEC is decoded even when
// waiting already covered the gap, as long as the wait was under gap + one frame: at one
// frame of buffering the next packet (and its FEC) only arrives after the lost frame's
// time, and recovered audio is worth the frame of delay it adds (accelerate sheds it),
// exactly as a redundant copy arriving that late is played.
// PLC lengths are rounded to 2.5 ms, the finest unit Opus conceals in.
//
// DTX: the pause is played with its own length (gap − waited) so speech rhythm and delay
// are kept, shortened by however much the buffer is above target (a pause is the best
// place to shed delay), and lengthened while the buffer is below target (up to a target's
// worth past the pause) so the talk spurt starts with the buffer at target.
GapPlan PlanGap(const GapInput& input);

}  // namespace parley::media
