// A call's listening quality as the ITU-T G.107 E-model (06/2015) estimates it from
// mouth-to-ear delay, the loss left after recovery and the codec at its bitrate.
// Pure functions; any thread.
#pragma once

namespace parley::call {

// libopus's encoder delay at 48 kHz (312 samples), part of every mouth-to-ear delay.
inline constexpr double kOpusLookaheadMs = 6.5;

struct QualityInputs {
  // Mouth to ear: one frame (capture) + RTT/2 + the jitter buffer's wait for a packet's
  // first sample + lookahead.
  double one_way_delay_ms = 0;
  double loss_after_recovery = 0; // 0..1: frames concealed (after FEC and redundant copies)
  int opus_bitrate_bps = 24000;   // what the far end encodes at
  double burst_ratio = 1;         // G.107 BurstR: 1 for random loss
};

struct QualityEstimate {
  double r_factor = 0;  // 0..100 (93.2 is the best narrowband connection)
  double mos = 1;       // 1..4.5, MOS-CQE of G.107 Annex B
};

QualityEstimate EstimateQuality(const QualityInputs& inputs);

// G.107 §7.4: the delay impairment Idd for absolute delay `ta_ms` (0 up to 100 ms).
// Talker and listener echo (Idte, Idle) are taken as 0: echo is cancelled (media/aec)
// and the defaults put them well below Idd at call delays.
double DelayImpairment(double ta_ms);
// Equipment impairment Ie of Opus (SILK/hybrid, VOIP mode, 48 kHz mono) at a
// bitrate: G.113 lists no Opus values; a hand-set table, compared with what `parley
// lab`'s quality score gives in quality_estimate.cc and docs/benchmarks.md.
double OpusIe(int bitrate_bps);
// Packet-loss robustness Bpl of Opus with its PLC (assumed: G.711's).
double OpusBpl();
// G.107 Annex B (B-4): MOS from R.
double MosFromR(double r);

}  // namespace parley::call
