// What the browser sends (Opus bitrate, frame length, FEC, redundant copies) from the
// peer's quality reports (0x04) and the RTT: the TS port of the decisions of
// src/parley/call/bitrate_controller.cc that a browser sender can act on. Pure.
import type { QualityReport } from '../protocol/call/control_message';
import { MAX_SEALED_SIZE, PADDING_BUCKETS, SEAL_OVERHEAD } from '../protocol/crypto/padding_policy';
import { type LossProtection, LossProtectionPolicy } from './loss_protection_policy';

export interface BitrateControllerConfig {
  // Wire rates, bit/s: sealed packets plus `overheadBytes` each (UDP/IPv4's 28, as native
  // counts them: the relay forwards the browser's packets over UDP).
  startWireBps: number;
  minWireBps: number;
  maxWireBps: number;
  dataSavingWireBps: number;
  overheadBytes: number;
  reportIntervalMs: number;
  frameLengthsMs: readonly number[]; // what the encoder can do, among 20, 40, 60
}

export const DEFAULT_BITRATE_CONTROLLER_CONFIG: BitrateControllerConfig = {
  startWireBps: 64000, minWireBps: 12000, maxWireBps: 64000, dataSavingWireBps: 12000, overheadBytes: 28,
  reportIntervalMs: 1000, frameLengthsMs: [20, 40, 60],
};

// What the sender uses from now on. A frame length change applies at a frame boundary.
export interface SenderSettings {
  opusBitrateBps: number; // 6000..64000
  frameMs: number; // 20, 40 or 60; 120 in data saving
  maxOpusBytes: number; // cap on one Opus packet (0: none)
  protection: LossProtection;
  dtx: boolean; // on in data saving
  budgetWireBps: number; // the wire budget these were chosen for
  expectedWireBps: number; // what they should cost on the wire with steady VBR
}

// As native (bitrate_controller.cc): the E-model thresholds and factors.
const QUEUE_CONGESTED_MS = 40;
const QUEUE_RISING_MS = 5;
const QUEUE_QUIET_MS = 25;
const DECREASE_FACTOR = 0.85;
const INCREASE_FACTOR = 1.2;
const FAST_INCREASE_FACTOR = 1.5;
const BELOW_BOTTLENECK = 0.85;
const PROBE_FACTOR = 1.25;
const PROBE_DURATION_MS = 200;
const PROBE_INTERVAL_MS = 4000;
const PROBE_QUEUE_RISE_MS = 8;
const PROBE_EVIDENCE_SHARE = 0.5;
const PROBE_MIN_RISE_MS = 3;
const PROBE_MIN_PREDICTED_MS = 6;
const BOTTLENECK_EVIDENCE = 0.7;
const PROBES_TO_LIFT = 2;
const PROBE_MAX_QUEUE_S = 0.03;
const MAX_OVER_SENT = 1.5;
const MIN_OPUS_BPS = 6000;
const MAX_OPUS_BPS = 64000;
const VBR_MARGIN = 0.8;
const FRAME_PREFERENCE_PER_MS = 0.05;
const FRAME_HYSTERESIS = 1.0;
const FEEDBACK_TIMEOUT_INTERVALS = 4;
const FEEDBACK_TIMEOUT_FACTOR = 0.7;
const DATA_SAVING_FRAME_MS = 120;
const DATA_SAVING_BUCKET = 128;
const KEEP_SENT_MS = 6000;

// The E-model equipment impairment of Opus by bitrate (quality_estimate.cc's table),
// interpolated on a log scale.
const OPUS_IE: readonly [number, number][] = [
  [6000, 34], [8000, 27], [10000, 22], [12000, 18], [16000, 12], [20000, 8], [24000, 5], [32000, 2], [64000, 0],
];

export function opusIe(bitrateBps: number): number {
  const first = OPUS_IE[0]!;
  const last = OPUS_IE[OPUS_IE.length - 1]!;
  if (bitrateBps <= first[0]) return first[1];
  if (bitrateBps >= last[0]) return last[1];
  for (let i = 1; i < OPUS_IE.length; ++i) {
    const [b1, ie1] = OPUS_IE[i]!;
    if (bitrateBps <= b1) {
      const [b0, ie0] = OPUS_IE[i - 1]!;
      const t = Math.log(bitrateBps / b0) / Math.log(b1 / b0);
      return ie0 + t * (ie1 - ie0);
    }
  }
  return last[1];
}

// Media payload header and its copies' headers (docs/protocol.md, "Media payload").
const payloadHeaderBytes = (copies: number): number => 7 + 4 * copies;

interface Fit {
  opusBps: number;
  wireBps: number;
}

// The highest Opus bitrate whose packets fit a padding bucket within the budget.
function fitFrame(budgetWireBps: number, frameMs: number, copies: number, overhead: number): Fit | undefined {
  const packetsPerS = 1000 / frameMs;
  const perPacketBytes = budgetWireBps / 8 / packetsPerS - overhead;
  let best: Fit | undefined;
  for (const bucket of PADDING_BUCKETS) {
    if (bucket > perPacketBytes) break;
    const content = bucket - SEAL_OVERHEAD - payloadHeaderBytes(copies);
    const opusBytes = (VBR_MARGIN * content) / (1 + copies);
    const opusBps = Math.min(MAX_OPUS_BPS, Math.floor(opusBytes * 8 * packetsPerS));
    if (opusBps < MIN_OPUS_BPS) continue;
    best = { opusBps, wireBps: (bucket + overhead) * 8 * packetsPerS };
    if (opusBps === MAX_OPUS_BPS) break;
  }
  return best;
}

const score = (fit: Fit, frameMs: number): number => -opusIe(fit.opusBps) - FRAME_PREFERENCE_PER_MS * frameMs;

// The best settings for a wire budget with this protection: the frame length and Opus
// bitrate with the best E-model impairment (a little preference for shorter frames),
// copies giving way (fewer, then FEC) when not even 6 kbit/s fits with them.
export function chooseSettings(budgetWireBps: number, protection: LossProtection, dataSaving: boolean,
  currentFrameMs: number, overhead: number, frameLengthsMs: readonly number[]): SenderSettings {
  if (dataSaving) {
    return {
      opusBitrateBps: MIN_OPUS_BPS, frameMs: DATA_SAVING_FRAME_MS, dtx: true,
      maxOpusBytes: DATA_SAVING_BUCKET - SEAL_OVERHEAD - payloadHeaderBytes(0),
      protection: { fec: protection.fec, fecExpectedLossPercent: protection.fecExpectedLossPercent, redundantDistances: [] },
      budgetWireBps, expectedWireBps: ((DATA_SAVING_BUCKET + overhead) * 8 * 1000) / DATA_SAVING_FRAME_MS,
    };
  }
  const variants: LossProtection[] = [protection];
  if (protection.redundantDistances.length > 1) variants.push({ ...protection, redundantDistances: [1] });
  if (protection.redundantDistances.length > 0) {
    variants.push({ fec: true, fecExpectedLossPercent: 20, redundantDistances: [] });
  }
  for (const p of variants) {
    const copies = p.redundantDistances.length;
    let best: { frameMs: number; fit: Fit; score: number } | undefined;
    let current: { fit: Fit; score: number } | undefined;
    for (const frameMs of frameLengthsMs) {
      const fit = fitFrame(budgetWireBps, frameMs, copies, overhead);
      if (!fit) continue;
      const s = score(fit, frameMs);
      if (frameMs === currentFrameMs) current = { fit, score: s };
      if (!best || s > best.score) best = { frameMs, fit, score: s };
    }
    if (!best) continue;
    if (current && best.score < current.score + FRAME_HYSTERESIS) best = { frameMs: currentFrameMs, ...current };
    return {
      opusBitrateBps: best.fit.opusBps, frameMs: best.frameMs, maxOpusBytes: 0, protection: p, dtx: false,
      budgetWireBps, expectedWireBps: best.fit.wireBps,
    };
  }
  // Not even 6 kbit/s fits at the longest frame: the floor.
  const longest = Math.max(...frameLengthsMs);
  return {
    opusBitrateBps: MIN_OPUS_BPS, frameMs: longest, maxOpusBytes: 0, dtx: false,
    protection: variants[variants.length - 1]!, budgetWireBps,
    expectedWireBps: ((96 + overhead) * 8 * 1000) / longest,
  };
}

interface Probe {
  startMs: number;
  endMs: number;
  queueBeforeMs: number;
  baseBps: number; // what it tests above: the known bottleneck or what the last clean probe carried
  rateBps: number; // what it sends on the wire, padding included
  ended: boolean;
}

// A delay-based wire budget as native's (bitrate_controller.h says it at length): a
// queue of 40 ms or more that rises (or one with loss and what arrived clearly below
// what was sent) cuts to 85 % of what arrived; a queue under 25 ms grows 20 % a second
// (never above 1.5x what was sent), up to 85 % of a known bottleneck, above which 200 ms
// probes padded to 125 % of it test every 4 s whether it lifted, judged on the queue
// they would have left (two clean ones in a row: grow 50 % a second); loss without a
// queue buys protection; no report for 4 intervals while sending: 70 % every 4. Data
// saving when the peer's reports ask for it: 120 ms packets at 6 kbit/s. Single-
// threaded; `nowMs` must not go back.
export class BitrateController {
  private readonly config: BitrateControllerConfig;
  private readonly policy = new LossProtectionPolicy();
  private settingsValue: SenderSettings;
  private targetWireBpsValue: number;
  private rttMs: number | undefined;
  private lastQueueDelayMs: number | undefined;
  private congestedAtWireBps: number | undefined;
  private lastDecreaseMs: number | undefined;
  private lastFeedbackMs: number | undefined;
  private peerSendsQuality = false;
  private peerWantsDataSaving = false;
  private readonly sent: { atMs: number; sealedBytes: number }[] = [];
  private lossWeighted = 0;
  private lossSeconds = 0;
  private wireOvershoot = 1;
  private probe: Probe | undefined;
  private nextProbeAtMs = 0;
  private fastGrowth = false;
  private cleanProbes = 0;
  private provenWireBps: number | undefined; // what the last clean probe carried

  constructor(config: Partial<BitrateControllerConfig> = {}) {
    this.config = { ...DEFAULT_BITRATE_CONTROLLER_CONFIG, ...config };
    this.targetWireBpsValue = this.config.startWireBps;
    this.settingsValue = this.choose(this.config.frameLengthsMs[0] ?? 20);
  }

  get settings(): SenderSettings {
    return this.settingsValue;
  }
  get targetWireBps(): number {
    return this.targetWireBpsValue;
  }
  get dataSaving(): boolean {
    return this.peerWantsDataSaving;
  }
  get knownBottleneckWireBps(): number | undefined {
    return this.congestedAtWireBps;
  }
  // The wire rate of a running probe, if one runs.
  get probeWireBps(): number | undefined {
    return this.probe && !this.probe.ended ? this.probe.rateBps : undefined;
  }

  // Every media packet sent: its sealed size.
  onPacketSent(sealedBytes: number, nowMs: number): void {
    this.sent.push({ atMs: nowMs, sealedBytes });
    while (this.sent.length > 0 && nowMs - this.sent[0]!.atMs > KEEP_SENT_MS) this.sent.shift();
  }

  onRtt(rttMs: number): void {
    this.rttMs = rttMs;
  }

  // A receiver report's loss: used for protection only while the peer sends no quality
  // reports (an older peer).
  onReceiverReportLoss(lossFraction: number): SenderSettings {
    if (this.peerSendsQuality) return this.settingsValue;
    this.policy.onLossReport(lossFraction);
    this.settingsValue = this.choose(this.settingsValue.frameMs);
    return this.settingsValue;
  }

  // The sealed size to pad the media packet sent at `nowMs` to at least (0: none): while
  // a probe runs, what keeps it at its rate whatever the speech.
  // Never more than PROBE_MAX_QUEUE_S of its base ahead; rounded down to a bucket.
  probePaddingFloor(nowMs: number): number {
    const probe = this.probe;
    if (!probe || probe.ended) return 0;
    const spanS = (nowMs - probe.startMs + this.settingsValue.frameMs) / 1000;
    const dueBits = Math.min(probe.rateBps * spanS, probe.baseBps * (spanS + PROBE_MAX_QUEUE_S));
    const owed = (dueBits - this.sentWireBits(probe.startMs, nowMs + 0.001)) / 8 - this.config.overheadBytes;
    let floor = 0;
    for (const bucket of PADDING_BUCKETS) if (bucket <= Math.min(owed, MAX_SEALED_SIZE)) floor = bucket;
    return floor;
  }

  // Timers (the probe's end, the feedback timeout); every ~20 ms.
  onTick(nowMs: number): SenderSettings {
    if (!this.peerSendsQuality || this.lastFeedbackMs === undefined) return this.settingsValue;
    const probe = this.probe;
    if (probe && !probe.ended) {
      const elapsedS = (nowMs - probe.startMs) / 1000;
      const excess = this.sentWireBits(probe.startMs, nowMs + 0.001) -
        probe.baseBps * (elapsedS + this.settingsValue.frameMs / 1000);
      if (nowMs >= probe.endMs || excess >= probe.baseBps * PROBE_MAX_QUEUE_S) this.endProbe(nowMs);
    }
    if (nowMs - this.lastFeedbackMs < this.config.reportIntervalMs * FEEDBACK_TIMEOUT_INTERVALS) return this.settingsValue;
    this.lastFeedbackMs = nowMs;
    if (this.sentWireBps(nowMs - this.config.reportIntervalMs, nowMs) <= 0) return this.settingsValue;
    this.targetWireBpsValue = Math.max(this.config.minWireBps, this.targetWireBpsValue * FEEDBACK_TIMEOUT_FACTOR);
    this.settingsValue = this.choose(this.settingsValue.frameMs);
    return this.settingsValue;
  }

  // The peer's quality report on what we send.
  onQualityReport(report: QualityReport, nowMs: number): SenderSettings {
    this.peerSendsQuality = true;
    this.lastFeedbackMs = nowMs;
    this.peerWantsDataSaving = report.dataSaving;
    const intervalMs = report.intervalMs > 0 ? report.intervalMs : this.config.reportIntervalMs;
    const intervalS = intervalMs / 1000;
    const oneWayMs = (this.rttMs ?? 0) / 2;
    const to = nowMs - oneWayMs;
    const from = to - intervalMs;
    const sentWire = this.sentWireBps(from, to);
    const sentSealed = this.sentSealedBps(from, to);
    const receivedWire = sentSealed > 0 ? report.receivedBps * (sentWire / sentSealed) : report.receivedBps;
    const loss = Math.min(10000, report.lossBeforeRecovery) / 10000;
    const queue = report.queueDelayMs;

    // Protection from loss per second, and only loss without a queue (with one, it is
    // our own overflow, which the cut below cures).
    if (queue < QUEUE_CONGESTED_MS) {
      this.lossWeighted += loss * intervalS;
      this.lossSeconds += intervalS;
      if (this.lossSeconds >= 0.99) {
        this.policy.onLossReport(this.lossWeighted / this.lossSeconds);
        this.lossWeighted = 0;
        this.lossSeconds = 0;
      }
    }

    const rise = this.lastQueueDelayMs === undefined ? 0 : queue - this.lastQueueDelayMs;
    this.lastQueueDelayMs = queue;
    const rising = queue >= QUEUE_CONGESTED_MS && rise > QUEUE_RISING_MS;
    const overflowing = queue >= QUEUE_CONGESTED_MS && loss > 0.02 && receivedWire < 0.9 * sentWire;
    const settled = this.lastDecreaseMs === undefined || nowMs - this.lastDecreaseMs >= intervalMs + 2 * oneWayMs;

    // VBR over the padding buckets: spend the budget net of how far above the settings'
    // cost we send.
    if (sentWire > 0 && this.settingsValue.expectedWireBps > 0 && !this.settingsValue.dtx) {
      const ratio = Math.min(1.6, Math.max(0.8, sentWire / this.settingsValue.expectedWireBps));
      this.wireOvershoot += (ratio - this.wireOvershoot) * Math.min(1, 0.3 * intervalS);
    }

    const probe = this.probe;
    let probeFoundIt = false; // the queue in this report is the probe's own
    if (probe) {
      // What the peer's mean would have risen by were the bottleneck still there.
      const predicted = this.predictedProbeQueueMs(probe, from, to);
      const riseSince = queue - probe.queueBeforeMs;
      const stillThere = riseSince >= Math.max(PROBE_MIN_RISE_MS, Math.min(PROBE_QUEUE_RISE_MS,
        PROBE_EVIDENCE_SHARE * predicted)) || rising || overflowing;
      if (stillThere) {
        this.endProbe(nowMs);
        this.probe = undefined;
        this.cleanProbes = 0;
        this.provenWireBps = undefined;
        probeFoundIt = true;
      } else if (probe.ended && to >= probe.endMs) {
        if (this.congestedAtWireBps !== undefined && predicted >= PROBE_MIN_PREDICTED_MS) {
          // Carried without a queue; the next probe above it at once, the budget staying
          // under the old ceiling until two in a row have.
          this.provenWireBps = probe.rateBps;
          this.nextProbeAtMs = nowMs;
          if (++this.cleanProbes >= PROBES_TO_LIFT || this.provenWireBps >= BELOW_BOTTLENECK * this.config.maxWireBps) {
            this.targetWireBpsValue = Math.max(this.targetWireBpsValue, this.provenWireBps);
            this.congestedAtWireBps = undefined;
            this.provenWireBps = undefined;
            this.cleanProbes = 0;
            this.fastGrowth = true;
          }
        } else {
          this.nextProbeAtMs = nowMs + 1000; // sent too little to prove anything (silence)
        }
        this.probe = undefined;
      }
    }

    if ((rising || overflowing) && sentWire > 0 && !probeFoundIt) {
      this.fastGrowth = false;
      this.cleanProbes = 0;
      this.provenWireBps = undefined;
      if (settled) {
        // A delay step (a longer route) delivers everything: cut, but remember no ceiling,
        // nor lower one we know without that evidence.
        if (receivedWire < BOTTLENECK_EVIDENCE * sentWire) this.congestedAtWireBps = receivedWire;
        this.targetWireBpsValue = Math.min(this.targetWireBpsValue, DECREASE_FACTOR * receivedWire);
        this.lastDecreaseMs = nowMs;
        this.nextProbeAtMs = nowMs + PROBE_INTERVAL_MS;
      }
    } else if (queue < QUEUE_QUIET_MS && !(this.probe && !this.probe.ended)) {
      let next = this.targetWireBpsValue * (this.fastGrowth ? FAST_INCREASE_FACTOR : INCREASE_FACTOR) ** intervalS;
      if (this.congestedAtWireBps !== undefined) {
        next = Math.max(this.targetWireBpsValue, Math.min(next, BELOW_BOTTLENECK * this.congestedAtWireBps));
      }
      if (sentWire > 0 && !this.fastGrowth) next = Math.min(next, Math.max(this.targetWireBpsValue, MAX_OVER_SENT * sentWire));
      this.targetWireBpsValue = next;
      if (this.targetWireBpsValue >= this.config.maxWireBps) this.fastGrowth = false;
    }
    if (!rising && !overflowing && queue < QUEUE_QUIET_MS) this.maybeStartProbe(queue, nowMs);
    this.targetWireBpsValue = Math.min(this.config.maxWireBps, Math.max(this.config.minWireBps, this.targetWireBpsValue));
    this.settingsValue = this.choose(this.settingsValue.frameMs);
    return this.settingsValue;
  }

  private maybeStartProbe(queueMs: number, nowMs: number): void {
    const known = this.congestedAtWireBps;
    if (known === undefined || this.probe || this.dataSaving || nowMs < this.nextProbeAtMs) return;
    const base = this.provenWireBps ?? known;
    if (base * PROBE_FACTOR <= this.config.minWireBps || base >= this.config.maxWireBps) return;
    this.probe = {
      startMs: nowMs, endMs: nowMs + PROBE_DURATION_MS, queueBeforeMs: queueMs, baseBps: base,
      rateBps: Math.min(this.config.maxWireBps, base * PROBE_FACTOR), ended: false,
    };
    this.nextProbeAtMs = nowMs + PROBE_INTERVAL_MS;
  }

  private endProbe(nowMs: number): void {
    if (!this.probe || this.probe.ended) return;
    this.probe.ended = true;
    this.probe.endMs = nowMs;
  }

  private choose(currentFrameMs: number): SenderSettings {
    let budget = Math.min(this.config.maxWireBps, Math.max(this.config.minWireBps, this.targetWireBpsValue));
    if (this.dataSaving) budget = Math.min(budget, this.config.dataSavingWireBps);
    const s = chooseSettings(budget / this.wireOvershoot, this.policy.current, this.dataSaving, currentFrameMs,
      this.config.overheadBytes, this.config.frameLengthsMs);
    return { ...s, budgetWireBps: budget };
  }

  // A fluid queue served at the probe's base, empty when it began, fed with what was
  // sent since: the mean wait (ms) of the packets sent in [from, to), earlier ones 0.
  private predictedProbeQueueMs(probe: Probe, fromMs: number, toMs: number): number {
    let queueBits = 0;
    let waitSumS = 0;
    let packets = 0;
    let lastMs: number | undefined;
    for (const s of this.sent) {
      if (s.atMs >= toMs) break;
      if (s.atMs >= probe.startMs) {
        if (lastMs !== undefined) queueBits = Math.max(0, queueBits - (probe.baseBps * (s.atMs - lastMs)) / 1000);
        lastMs = s.atMs;
        if (s.atMs >= fromMs) waitSumS += queueBits / probe.baseBps;
        queueBits += (s.sealedBytes + this.config.overheadBytes) * 8;
      }
      if (s.atMs >= fromMs) ++packets;
    }
    return packets > 0 ? (waitSumS / packets) * 1000 : 0;
  }

  private sentWireBits(fromMs: number, toMs: number): number {
    let bytes = 0;
    for (const s of this.sent) {
      if (s.atMs >= fromMs && s.atMs < toMs) bytes += s.sealedBytes + this.config.overheadBytes;
    }
    return bytes * 8;
  }

  private sentWireBps(fromMs: number, toMs: number): number {
    const spanS = (toMs - fromMs) / 1000;
    return spanS > 0 ? this.sentWireBits(fromMs, toMs) / spanS : 0;
  }

  private sentSealedBps(fromMs: number, toMs: number): number {
    let bytes = 0;
    for (const s of this.sent) {
      if (s.atMs >= fromMs && s.atMs < toMs) bytes += s.sealedBytes;
    }
    const spanS = (toMs - fromMs) / 1000;
    return spanS > 0 ? (bytes * 8) / spanS : 0;
  }
}
