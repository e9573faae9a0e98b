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
const PROBE_DURATION_MS = 500;
const PROBE_INTERVAL_MS = 4000;
const PROBE_QUEUE_RISE_MS = 8;
const PROBE_EVIDENCE_SHARE = 0.5;
const PROBE_MIN_RISE_MS = 3;
const PROBE_MIN_PREDICTED_MS = 6;
const PROBE_SETTLE_MS = 150;
const BOTTLENECK_EVIDENCE = 0.7;
const PROBES_TO_LIFT = 3; // each clean probe proves only ~6 % above its base
const PROBE_MAX_QUEUE_S = 0.03;
const PROBE_PACKET_SHARE = 1.5;
const DRAIN_S = 1;
const MAX_DRAIN_SHARE = 0.5;
const FLAT_SPAN_MS = 2000;
const FLAT_BAND_MS = 15;
const BUSY_QUEUE_MS = 60;
const BUSY_SPAN_FOR_ESTIMATE_S = 0.75;
const MAX_DRAIN_MS = 2000;
const UNDER_KNOWN = 0.9;
const UNDER_KNOWN_QUEUE_MS = 100;
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
    expectedWireBps: floorExpectedWireBps(overhead, longest),
  };
}

// What the floor (6 kbit/s in the longest frames, each in the 96-byte bucket) costs on
// the wire, UDP/IP included.
function floorExpectedWireBps(overhead: number, longestFrameMs: number): number {
  return ((96 + overhead) * 8 * 1000) / longestFrameMs;
}

interface Probe {
  startMs: number; // its first packet (until then, when it was started)
  endMs: number;
  queueBeforeMs: number;
  rawBeforeMs: number; // as the peer reported it (no flat delay taken off)
  baselineMoved: boolean; // the peer's reported delay fell under it: no proof
  baseBps: number; // what it tests above: the known bottleneck or what the last clean probe carried
  rateBps: number; // what it sends on the wire, padding included
  sentAny: boolean;
  ended: boolean;
}

// A queue still standing once the bottleneck is measured: a fluid model of it, served at
// the estimate from the end of the report that showed it.
interface Drain {
  fromMs: number;
  deadlineMs: number;
  queueBits: number;
  rateBps: number;
}

interface Sent {
  atMs: number;
  sealedBytes: number;
  media: boolean; // else a control packet
}

interface QueueSample {
  atMs: number;
  queueMs: number;
  noLoss: boolean;
  receivedBits: number; // media, wire
  sentBits: number;
}

// A delay-based wire budget as native's (bitrate_controller.h says it at length): the
// budget pays for our control packets too; a queue of 40 ms or more that rises (or one
// with loss and what arrived clearly below what was sent) cuts to 85 % of what arrived
// (less one packet), or lower to drain the queue within a second; a delay flat for 2 s
// with everything arriving is taken off the queue; a queue under 25 ms grows 20 % a
// second (never above 1.5x what was sent), up to 85 % of a known bottleneck (replaced by
// what arrived over the span the queue stood; a queue still standing then is drained in
// 120 ms packets until a model of it says it is gone), above which probes of up to
// 500 ms padded to 125 % of it test every 4 s whether it lifted, judged on the queue
// they would have left (none while the peer's baseline moved; three clean ones in a
// row: grow 50 % a second); loss without a queue buys protection; no
// report for 4 intervals while sending: 70 % every 4. Data saving when the peer's
// reports ask for it: 120 ms packets at 6 kbit/s. Single-threaded; `nowMs` must not go
// back.
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
  private readonly sent: Sent[] = [];
  private readonly recentQueues: QueueSample[] = [];
  private queueOffsetMs = 0; // a flat delay taken off the reported queue
  private busyBits = 0; // since the last cut, while the queue stood: what got through
  private busySeconds = 0;
  private busyPacketBits = 0;
  private busyFromCut = false;
  private drain: Drain | undefined;
  private lossWeighted = 0;
  private lossSeconds = 0;
  private wireOvershoot = 1;
  private probe: Probe | undefined;
  private nextProbeAtMs = 0;
  private fastGrowth = false;
  private cleanProbes = 0;
  private provenWireBps: number | undefined; // what the last clean probe carried
  private lastNowMs = 0; // the newest time any event brought

  constructor(config: Partial<BitrateControllerConfig> = {}) {
    this.config = { ...DEFAULT_BITRATE_CONTROLLER_CONFIG, ...config };
    this.targetWireBpsValue = this.config.startWireBps;
    this.settingsValue = this.choose(this.config.frameLengthsMs[0] ?? 20, 0);
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
    const probe = this.probe;
    if (probe && !probe.ended && !probe.sentAny) {
      // A probe begins with its first media packet: the time before it owes nothing.
      probe.sentAny = true;
      probe.startMs = nowMs;
      probe.endMs = nowMs + PROBE_DURATION_MS;
    }
    this.record(sealedBytes, nowMs, true);
  }

  // Every control packet sent on the call's path (reports): the budget pays for them.
  onControlSent(sealedBytes: number, nowMs: number): void {
    this.record(sealedBytes, nowMs, false);
  }

  // What we sent on the wire over the last report interval, media and control.
  sentWireBpsNow(nowMs: number): number {
    return this.sentWireBps(nowMs - this.config.reportIntervalMs, nowMs);
  }

  onRtt(rttMs: number): void {
    this.rttMs = rttMs;
  }

  // A receiver report's loss: used for protection only while the peer sends no quality
  // reports (an older peer).
  onReceiverReportLoss(lossFraction: number): SenderSettings {
    if (this.peerSendsQuality) return this.settingsValue;
    this.policy.onLossReport(lossFraction);
    this.settingsValue = this.choose(this.settingsValue.frameMs, this.lastNowMs);
    return this.settingsValue;
  }

  // The sealed size to pad the media packet sent at `nowMs` to at least (0: none): while
  // a probe runs, what keeps it at its rate whatever the speech.
  // Never more than PROBE_MAX_QUEUE_S of its base ahead, nor PROBE_PACKET_SHARE frames
  // at its rate in one packet; counted from its first packet; rounded down to a bucket.
  probePaddingFloor(nowMs: number): number {
    const probe = this.probe;
    if (!probe || probe.ended) return 0;
    const startMs = probe.sentAny ? probe.startMs : nowMs;
    const frameS = this.settingsValue.frameMs / 1000;
    const spanS = (nowMs - startMs) / 1000 + frameS;
    const dueBits = Math.min(probe.rateBps * spanS, probe.baseBps * (spanS + PROBE_MAX_QUEUE_S));
    const owed = Math.min((dueBits - this.sentWireBits(startMs, nowMs + 0.001)) / 8,
      (PROBE_PACKET_SHARE * probe.rateBps * frameS) / 8) - this.config.overheadBytes;
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
    this.maybeEndDrain(nowMs);
    if (nowMs - this.lastFeedbackMs < this.config.reportIntervalMs * FEEDBACK_TIMEOUT_INTERVALS) return this.settingsValue;
    this.lastFeedbackMs = nowMs;
    // Not sending media: nothing to blame.
    if (this.sentWireBps(nowMs - this.config.reportIntervalMs, nowMs, true) <= 0) return this.settingsValue;
    this.targetWireBpsValue = Math.max(this.config.minWireBps, this.targetWireBpsValue * FEEDBACK_TIMEOUT_FACTOR);
    this.settingsValue = this.choose(this.settingsValue.frameMs, nowMs);
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
    const sentWire = this.sentWireBps(from, to, true);
    const sentSealed = this.sentSealedBps(from, to);
    const receivedWire = sentSealed > 0 ? report.receivedBps * (sentWire / sentSealed) : report.receivedBps;
    // What the path carried of ours: that media (less one packet, which a short interval
    // may hold too many) and our control in the same proportion.
    const sentAllWire = this.sentWireBps(from, to);
    const mediaPackets = this.sentPackets(from, to);
    const packetBps = mediaPackets > 0 ? sentWire / mediaPackets : 0;
    const controlCarriedWire = (sentAllWire - sentWire) * (sentWire > 0 ? Math.min(1, receivedWire / sentWire) : 1);
    const carriedWire = Math.max(0, receivedWire - packetBps) + controlCarriedWire;
    const loss = Math.min(10000, report.lossBeforeRecovery) / 10000;
    const rawQueue = report.queueDelayMs;

    // A delay flat for FLAT_SPAN_MS while everything arrives is no queue we could drain
    // (a slower link's serialization, a longer route): its floor comes off.
    this.recentQueues.push({ atMs: nowMs, queueMs: rawQueue, noLoss: loss <= 0.02, receivedBits: receivedWire * intervalS,
      sentBits: sentWire * intervalS });
    while (nowMs - this.recentQueues[0]!.atMs > FLAT_SPAN_MS + this.config.reportIntervalMs) this.recentQueues.shift();
    this.queueOffsetMs = Math.min(this.queueOffsetMs, rawQueue);
    if (nowMs - this.recentQueues[0]!.atMs >= FLAT_SPAN_MS && !(this.probe && !this.probe.ended)) {
      let low = rawQueue;
      let high = rawQueue;
      let receivedBits = 0;
      let sentBits = 0;
      let noLoss = true;
      for (const q of this.recentQueues) {
        low = Math.min(low, q.queueMs);
        high = Math.max(high, q.queueMs);
        noLoss = noLoss && q.noLoss;
        receivedBits += q.receivedBits;
        sentBits += q.sentBits;
      }
      if (noLoss && receivedBits >= 0.9 * sentBits && high - low <= FLAT_BAND_MS) {
        this.queueOffsetMs = Math.max(this.queueOffsetMs, low);
      }
    }
    const queue = Math.max(0, rawQueue - this.queueOffsetMs);
    // Protection from loss per second, and only loss without a queue (with one, it is
    // our own overflow, which the cut below cures); a clean report counts once a flat
    // delay is taken off too (a step from 60 ms frames to 20 reads as a flat 40 ms at the
    // peer, which held FEC on for good).
    if (rawQueue < QUEUE_CONGESTED_MS || (queue < QUEUE_CONGESTED_MS && loss <= 0)) {
      this.lossWeighted += loss * intervalS;
      this.lossSeconds += intervalS;
      if (this.lossSeconds >= 0.99) {
        this.policy.onLossReport(this.lossWeighted / this.lossSeconds);
        this.lossWeighted = 0;
        this.lossSeconds = 0;
      }
    }
    // While a queue stands the bottleneck is busy: what arrives is its rate. Counted over
    // one packet's serialization at the known bottleneck, which the peer's baseline from
    // before it lacks (unless a flat delay was taken off already).
    const packetSerializationMs = this.congestedAtWireBps !== undefined && mediaPackets > 0
      ? Math.max(0, ((packetBps * intervalS) / this.congestedAtWireBps) * 1000 - this.queueOffsetMs) : 0;
    const waiting = Math.max(0, queue - packetSerializationMs);
    if (waiting >= BUSY_QUEUE_MS) {
      this.busyBits += (receivedWire + controlCarriedWire) * intervalS;
      this.busySeconds += intervalS;
      this.busyPacketBits = packetBps * intervalS;
    } else if (queue < QUEUE_QUIET_MS) {
      this.busyBits = 0;
      this.busySeconds = 0;
    }

    const rise = this.lastQueueDelayMs === undefined ? 0 : queue - this.lastQueueDelayMs;
    this.lastQueueDelayMs = queue;
    // Clearly under a known bottleneck, a moderate queue wobbling up is VBR at its
    // serialization, not ours.
    const underKnown = this.congestedAtWireBps !== undefined && sentAllWire < UNDER_KNOWN * this.congestedAtWireBps &&
      queue < UNDER_KNOWN_QUEUE_MS;
    const rising = queue >= QUEUE_CONGESTED_MS && rise > QUEUE_RISING_MS && !underKnown;
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
      // The peer's 10 s baseline moving makes every delay fall; a probe's queue hides in it.
      if (rawQueue < probe.rawBeforeMs - FLAT_BAND_MS) probe.baselineMoved = true;
      const stillThere = riseSince >= Math.max(PROBE_MIN_RISE_MS, Math.min(PROBE_QUEUE_RISE_MS,
        PROBE_EVIDENCE_SHARE * predicted)) || rising || overflowing;
      if (stillThere) {
        this.endProbe(nowMs);
        this.probe = undefined;
        this.cleanProbes = 0;
        this.provenWireBps = undefined;
        probeFoundIt = true;
      } else if (probe.ended && to >= probe.endMs + PROBE_SETTLE_MS) {
        const carried = this.sentWireBps(probe.startMs, probe.endMs);
        if (this.congestedAtWireBps !== undefined && predicted >= PROBE_MIN_PREDICTED_MS && carried > probe.baseBps &&
          !probe.baselineMoved) {
          // Carried without a queue; the next probe above it at once, the budget staying
          // under the old ceiling until three in a row have.
          this.provenWireBps = Math.min(probe.rateBps, carried);
          this.nextProbeAtMs = nowMs;
          if (++this.cleanProbes >= PROBES_TO_LIFT || this.provenWireBps >= BELOW_BOTTLENECK * this.config.maxWireBps) {
            this.targetWireBpsValue = Math.max(this.targetWireBpsValue, this.provenWireBps);
            this.congestedAtWireBps = undefined;
            this.provenWireBps = undefined;
            this.cleanProbes = 0;
            this.fastGrowth = true;
          }
        } else {
          this.nextProbeAtMs = nowMs + 1000; // sent too little (silence), or the baseline moved
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
        if (receivedWire < BOTTLENECK_EVIDENCE * sentWire) this.congestedAtWireBps = carriedWire;
        this.busyFromCut = true;
        // Below what arrived, and enough to drain the queue within about DRAIN_S.
        const drain = 1 - Math.min(MAX_DRAIN_SHARE, queue / 1000 / DRAIN_S);
        // Never below what the floor sends (native's FloorWireBps): below it is the drain's.
        this.targetWireBpsValue = Math.min(this.targetWireBpsValue,
          Math.max(Math.min(DECREASE_FACTOR, drain) * carriedWire, this.floorWireBps(nowMs)));
        this.lastDecreaseMs = nowMs;
        this.nextProbeAtMs = nowMs + PROBE_INTERVAL_MS;
      }
    } else if (queue < QUEUE_QUIET_MS && !(this.probe && !this.probe.ended)) {
      let next = this.targetWireBpsValue * (this.fastGrowth ? FAST_INCREASE_FACTOR : INCREASE_FACTOR) ** intervalS;
      if (this.congestedAtWireBps !== undefined) {
        next = Math.max(this.targetWireBpsValue, Math.min(next, BELOW_BOTTLENECK * this.congestedAtWireBps));
      }
      if (sentWire > 0 && !this.fastGrowth) next = Math.min(next, Math.max(this.targetWireBpsValue, MAX_OVER_SENT * sentAllWire));
      this.targetWireBpsValue = next;
      if (this.targetWireBpsValue >= this.config.maxWireBps) this.fastGrowth = false;
    }
    // The ceiling a cut set from one short report is replaced by what the busy link
    // delivered over the span the queue stood; a queue still standing then is drained.
    if (this.busyFromCut && this.congestedAtWireBps !== undefined && this.busySeconds >= BUSY_SPAN_FOR_ESTIMATE_S &&
      !probeFoundIt) {
      const delivered = (this.busyBits - this.busyPacketBits) / this.busySeconds;
      this.congestedAtWireBps = delivered;
      if (!this.drain && waiting >= BUSY_QUEUE_MS) {
        this.drain = { fromMs: to, deadlineMs: nowMs + MAX_DRAIN_MS, queueBits: (waiting / 1000) * delivered,
          rateBps: delivered };
      }
    }
    if (queue < QUEUE_QUIET_MS) this.busyFromCut = false;
    this.maybeEndDrain(nowMs);
    if (!rising && !overflowing && queue < QUEUE_QUIET_MS) this.maybeStartProbe(queue, rawQueue, nowMs);
    this.targetWireBpsValue = Math.min(this.config.maxWireBps, Math.max(this.config.minWireBps, this.targetWireBpsValue));
    this.settingsValue = this.choose(this.settingsValue.frameMs, nowMs);
    return this.settingsValue;
  }

  // What the floor's settings (the longest frame at 6 kbit/s) and our control packets
  // cost on the wire (bit/s): no cut goes below it.
  private floorWireBps(nowMs: number): number {
    return floorExpectedWireBps(this.config.overheadBytes, Math.max(...this.config.frameLengthsMs)) *
      this.wireOvershoot + this.controlWireBps(nowMs);
  }

  // What our control packets cost on the wire over the last report interval (bit/s).
  private controlWireBps(nowMs: number): number {
    const fromMs = nowMs - this.config.reportIntervalMs;
    return this.sentWireBps(fromMs, nowMs + 0.001) - this.sentWireBps(fromMs, nowMs + 0.001, true);
  }

  // What the standing queue still holds (bits; <= 0: gone).
  private drainRemainingBits(nowMs: number): number {
    const drain = this.drain;
    if (!drain) return 0;
    return drain.queueBits + this.sentWireBits(drain.fromMs, nowMs + 0.001) - (drain.rateBps * (nowMs - drain.fromMs)) / 1000;
  }

  private maybeEndDrain(nowMs: number): void {
    if (!this.drain || (this.drainRemainingBits(nowMs) > 0 && nowMs < this.drain.deadlineMs)) return;
    this.drain = undefined;
    // Gone: back to just below the bottleneck (the cut's drain share no longer applies).
    if (this.congestedAtWireBps !== undefined) {
      this.targetWireBpsValue = Math.max(this.targetWireBpsValue, DECREASE_FACTOR * this.congestedAtWireBps);
    }
    this.settingsValue = this.choose(this.settingsValue.frameMs, nowMs);
  }

  private maybeStartProbe(queueMs: number, rawQueueMs: number, nowMs: number): void {
    const known = this.congestedAtWireBps;
    if (known === undefined || this.probe || this.dataSaving || nowMs < this.nextProbeAtMs) return;
    const base = this.provenWireBps ?? known;
    if (base * PROBE_FACTOR <= this.config.minWireBps || base >= this.config.maxWireBps) return;
    this.probe = {
      startMs: nowMs, endMs: nowMs + PROBE_DURATION_MS, queueBeforeMs: queueMs, rawBeforeMs: rawQueueMs,
      baselineMoved: false, baseBps: base,
      rateBps: Math.min(this.config.maxWireBps, base * PROBE_FACTOR), sentAny: false, ended: false,
    };
    this.nextProbeAtMs = nowMs + PROBE_INTERVAL_MS;
  }

  private endProbe(nowMs: number): void {
    if (!this.probe || this.probe.ended) return;
    this.probe.ended = true;
    this.probe.endMs = nowMs;
  }

  private choose(currentFrameMs: number, nowMs: number): SenderSettings {
    this.lastNowMs = nowMs;
    let budget = Math.min(this.config.maxWireBps, Math.max(this.config.minWireBps, this.targetWireBpsValue));
    if (this.dataSaving) budget = Math.min(budget, this.config.dataSavingWireBps);
    // Media gets what our control packets leave (but all of it at the top).
    let mediaBudget = budget;
    if (!this.dataSaving && budget < this.config.maxWireBps) {
      mediaBudget = Math.max(0, budget - this.controlWireBps(nowMs));
    }
    let s = chooseSettings(mediaBudget / this.wireOvershoot, this.policy.current, this.dataSaving, currentFrameMs,
      this.config.overheadBytes, this.config.frameLengthsMs);
    // Draining a standing queue at the floor: data saving's 120 ms packets until the
    // queue is gone.
    if (this.drain && !this.dataSaving && s.opusBitrateBps === MIN_OPUS_BPS &&
      s.frameMs === Math.max(...this.config.frameLengthsMs)) {
      s = chooseSettings(mediaBudget, this.policy.current, true, currentFrameMs, this.config.overheadBytes,
        this.config.frameLengthsMs);
    }
    return { ...s, budgetWireBps: budget };
  }

  private record(sealedBytes: number, nowMs: number, media: boolean): void {
    this.sent.push({ atMs: nowMs, sealedBytes, media });
    while (this.sent.length > 0 && nowMs - this.sent[0]!.atMs > KEEP_SENT_MS) this.sent.shift();
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
        if (s.atMs >= fromMs && s.media) waitSumS += queueBits / probe.baseBps;
        queueBits += (s.sealedBytes + this.config.overheadBytes) * 8;
      }
      if (s.atMs >= fromMs && s.media) ++packets;
    }
    return packets > 0 ? (waitSumS / packets) * 1000 : 0;
  }

  private sentWireBits(fromMs: number, toMs: number, mediaOnly = false): number {
    let bytes = 0;
    for (const s of this.sent) {
      if (mediaOnly && !s.media) continue;
      if (s.atMs >= fromMs && s.atMs < toMs) bytes += s.sealedBytes + this.config.overheadBytes;
    }
    return bytes * 8;
  }

  private sentWireBps(fromMs: number, toMs: number, mediaOnly = false): number {
    const spanS = (toMs - fromMs) / 1000;
    return spanS > 0 ? this.sentWireBits(fromMs, toMs, mediaOnly) / spanS : 0;
  }

  private sentPackets(fromMs: number, toMs: number): number {
    let packets = 0;
    for (const s of this.sent) if (s.media && s.atMs >= fromMs && s.atMs < toMs) ++packets;
    return packets;
  }

  private sentSealedBps(fromMs: number, toMs: number): number {
    let bytes = 0;
    for (const s of this.sent) {
      if (s.media && s.atMs >= fromMs && s.atMs < toMs) bytes += s.sealedBytes;
    }
    const spanS = (toMs - fromMs) / 1000;
    return spanS > 0 ? (bytes * 8) / spanS : 0;
  }
}
