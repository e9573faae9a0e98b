// A connected browser call's media as logic without I/O: Opus frames in -> media
// payloads (with the copies the loss protection asks for) -> sealed packets; sealed
// packets in -> the Opus frames to decode (copies fill frames whose own packet was
// lost); a quality report (0x04) and a receiver report once a second (the quality
// report four times a second while a queue builds or packets go missing), each right
// before a media packet as native's, the latter with the RTT echo, so a native peer's
// bitrate controller adapts to what the browser receives; the peer's
// quality reports steer what the browser sends (BitrateController: Opus bitrate, frame
// length, FEC, copies, probe padding); probe replies. What
// src/parley/call/call_media.cc does around its encoder and jitter buffer. Pure: the
// caller gives the time (ms, monotonic) and does the encoding, decoding and sending.
import type { Bytes } from '../protocol/bytes';
import { CallPackets } from '../protocol/call/call_packets';
import {
  BYE_REASON_HANGUP, BYE_TYPE, QUALITY_REPORT_TYPE, type QualityReport, type ReceiverReport, lossUnits, parseBye,
  parseQualityReport, saturatedMs, serializeBye, serializeQualityReport,
} from '../protocol/call/control_message';
import type { CallKeys } from '../protocol/crypto/call_keys';
import { MAX_CONTENT_SIZE } from '../protocol/crypto/padding_policy';
import { type EncodedFrame, MAX_REDUNDANT_OFFSET_SAMPLES } from '../protocol/media/media_packet';
import { BitrateController, type BitrateControllerConfig, type SenderSettings } from './bitrate_controller';
import type { LossProtection } from './loss_protection_policy';
import { ArrivalTiming } from './arrival_timing';
import { opusPacketSamples } from './opus_packet';
import { ReceiveStatistics, lossFraction } from './receive_statistics';
import { SendTiming } from './send_timing';

export interface CallMediaCoreOptions {
  reportIntervalMs: number;
  frameSamples: number; // 48 kHz samples per Opus frame (960 = 20 ms)
  firstTimestamp: number; // u32, random per call
  firstSequence: number; // u16, random per call
  bitrate: Partial<BitrateControllerConfig>; // e.g. the frame lengths the encoder can do
}

export const DEFAULT_CALL_MEDIA_CORE_OPTIONS: CallMediaCoreOptions = {
  reportIntervalMs: 1000,
  frameSamples: 960,
  firstTimestamp: 0,
  firstSequence: 0,
  bitrate: {},
};

export interface Arrived {
  decode: EncodedFrame[]; // frames to decode, oldest first; never one given before
  reply?: Bytes; // a sealed control packet to send back at once (a probe reply)
  authentic: boolean; // opened under the call's keys
}

export interface CallMediaFigures {
  rttMs?: number; // from the newest report echoing ours
  sendLossFraction: number; // of what we send, as the peer last reported
  receiveLossFraction: number; // of what we receive, last interval
  sendKbps: number; // sealed bytes sent, last interval
  receiveKbps: number; // sealed bytes received, last interval
  mediaPacketsSent: number;
  mediaPacketsReceived: number;
  framesRecovered: number; // frames decoded from a copy because their own packet was lost
  packetsRefused: number; // did not open under either stream's key
  reportsReceived: number;
  qualityReportsReceived: number; // the peer's, on what we send
  targetWireKbps: number; // the bitrate controller's budget (sealed + 28 bytes a packet)
  lastAuthenticMs?: number; // when the newest authentic packet arrived
  lastQuality?: QualityReport; // the newest quality report we sent
  // Of the queue the peer's newest quality report measured, our own sending lateness (ms),
  // which the bitrate controller did not count (SendTiming).
  ownSendDelayMs?: number;
  // Times the page's main thread was held up 50 ms or more (the core went uncalled);
  // packets handed over in the burst after one are counted but not timed.
  mainThreadStalls: number;
}

const RTT_BOGUS_MS = 60000;
// The receiver sees trouble (reports four times as often, as native): a queue this long,
// or more than this loss.
const TROUBLE_QUEUE_MS = 40;
const TROUBLE_LOSS = 0.02;
const REMEMBERED_TIMESTAMPS = 256; // frames handed to the decoder, for copies
// The page calls the core at least every 20 ms (its tick); no call for this long means its
// main thread was held up, and packets it then hands over back to back (no more than
// BURST_MS apart) had arrived earlier, at times nobody knows: they are not timed.
const MAIN_THREAD_STALL_MS = 50;
const BURST_MS = 4;
// Before the first RTT sample, the window of our packets a quality report covers ends
// this long before it arrived (0 would take in a burst's backlog, sent as it came).
const RTT_BEFORE_MEASURED_MS = 100;

// Single-threaded (the page's main thread). The keys are copied into the sealers and
// openers. `nowMs` must not go back.
export class CallMediaCore {
  private readonly options: CallMediaCoreOptions;
  private readonly packets: CallPackets;
  private readonly statistics = new ReceiveStatistics();
  private readonly timing = new ArrivalTiming();
  private readonly sendTiming = new SendTiming();
  private recoveredInInterval = 0;
  private jitterBufferMs = 0;
  private peerSaidByeValue = false;
  private readonly controller: BitrateController;
  private appliedSettings: SenderSettings;
  private readonly startMs: number;
  private sequence: number;
  private timestamp: number;
  private readonly sentFrames: EncodedFrame[] = []; // the last two, newest last
  private readonly decodedTimestamps = new Set<number>();
  private readonly decodedOrder: number[] = [];
  private nextReportMs: number;
  // Data saving: the reports take turns (true: the quality report went last); the
  // receiver report then counts every interval since it last went.
  private qualityReportWentLast = false;
  private receiverReportExpected = 0;
  private receiverReportReceived = 0;
  // The receiver report goes before the media packet after the quality report's, so that
  // no media packet waits behind both (as native's); in queue trouble once a second.
  private pendingReceiverReport: ReceiverReport | undefined;
  private receiverReportPendingSinceMs = 0;
  private nextReceiverReportMs = 0;
  private peerSentMs: number | undefined;
  private peerReportArrivalMs = 0;
  private bytesSentInInterval = 0;
  private lastCallMs: number | undefined; // the newest call to sealFrame, onSealed or tick
  private burstLastMs = -Infinity; // the newest call of a burst after a stall
  private stallStartMs = 0; // the last call before the newest stall
  private bytesReceivedInInterval = 0;
  private intervalStartMs: number;
  readonly figures: CallMediaFigures = {
    sendLossFraction: 0, receiveLossFraction: 0, sendKbps: 0, receiveKbps: 0, mediaPacketsSent: 0,
    mediaPacketsReceived: 0, framesRecovered: 0, packetsRefused: 0, reportsReceived: 0,
    qualityReportsReceived: 0, targetWireKbps: 0, mainThreadStalls: 0,
  };

  constructor(keys: CallKeys, nowMs: number, options: Partial<CallMediaCoreOptions> = {}) {
    this.options = { ...DEFAULT_CALL_MEDIA_CORE_OPTIONS, ...options };
    this.packets = new CallPackets(keys, nowMs);
    this.startMs = nowMs;
    this.intervalStartMs = nowMs;
    this.nextReportMs = nowMs + this.options.reportIntervalMs;
    this.sequence = this.options.firstSequence & 0xffff;
    this.timestamp = this.options.firstTimestamp >>> 0;
    this.controller = new BitrateController(this.options.bitrate);
    this.appliedSettings = this.controller.settings;
    this.figures.targetWireKbps = this.controller.targetWireBps / 1000;
  }

  get protection(): LossProtection {
    return this.controller.settings.protection;
  }

  // What the encoder and packetizer should use now.
  get sender(): SenderSettings {
    return this.controller.settings;
  }

  // The sender's settings once after each change (the encoder follows), else undefined.
  takeSenderChange(): SenderSettings | undefined {
    const now = this.controller.settings;
    const was = this.appliedSettings;
    this.appliedSettings = now;
    const same = now.opusBitrateBps === was.opusBitrateBps && now.frameMs === was.frameMs && now.dtx === was.dtx &&
      now.maxOpusBytes === was.maxOpusBytes && now.protection.fec === was.protection.fec &&
      now.protection.fecExpectedLossPercent === was.protection.fecExpectedLossPercent &&
      now.protection.redundantDistances.join() === was.protection.redundantDistances.join();
    return same ? undefined : now;
  }

  // One Opus packet of `frameSamples` (48 kHz samples it codes; the configured frame
  // length unless given), in capture order: the sealed packets to send now, in this
  // order: a report that was due (at most one), then the media packet (always last),
  // padded while the bitrate controller probes.
  // Reports go right before a media packet, as native's: on a full drop-tail queue the
  // first packet after a departure gets in, so a report sent right after a media packet,
  // or alone between two (media keeps the queue at its brim), is nearly always the one
  // dropped, and congestion would hide its own signal; before one, it gets the media
  // packet's chance.
  sealFrame(opus: Bytes, nowMs: number, frameSamples: number = this.options.frameSamples): Bytes[] {
    this.afterStall(nowMs, false);
    const report = this.reportIfDue(nowMs);
    const media = this.sealMedia(opus, nowMs, frameSamples);
    return report ? [report, media] : [media];
  }

  private sealMedia(opus: Bytes, nowMs: number, frameSamples: number): Bytes {
    const primary: EncodedFrame = { timestamp: this.timestamp, payload: opus };
    const redundant: EncodedFrame[] = [];
    let size = 7 + opus.length;
    // Oldest first: distances in descending order.
    const distances = [...this.controller.settings.protection.redundantDistances].sort((a, b) => b - a);
    for (const distance of distances) {
      const frame = this.sentFrames[this.sentFrames.length - distance];
      if (!frame) continue;
      const offset = (this.timestamp - frame.timestamp) >>> 0;
      if (offset === 0 || offset > MAX_REDUNDANT_OFFSET_SAMPLES) continue;
      const cost = frame.payload.length + 6; // two varints at most 3 bytes each here
      if (size + cost > MAX_CONTENT_SIZE) continue;
      size += cost;
      redundant.push(frame);
    }
    const sealed = this.packets.sealMedia({ sequence: this.sequence, primary, redundant }, nowMs,
      this.controller.probePaddingFloor(nowMs));
    this.controller.onPacketSent(sealed.length, nowMs);
    this.sendTiming.onSent(this.timestamp, frameSamples, nowMs);
    this.sentFrames.push(primary);
    if (this.sentFrames.length > 2) this.sentFrames.shift();
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + frameSamples) >>> 0;
    this.bytesSentInInterval += sealed.length;
    ++this.figures.mediaPacketsSent;
    return sealed;
  }

  // A frame the encoder left unsent (DTX silence): its samples still pass, so the next
  // packet's timestamp says when it was captured.
  skipFrame(frameSamples: number): void {
    this.timestamp = (this.timestamp + frameSamples) >>> 0;
  }

  // One sealed packet from the relay (what the relay session handed up).
  onSealed(sealed: Bytes, nowMs: number): Arrived {
    const late = this.afterStall(nowMs, true);
    const arrival = this.packets.open(sealed);
    switch (arrival.kind) {
      case 'dropped':
        ++this.figures.packetsRefused;
        return { decode: [], authentic: false };
      case 'media': {
        this.noteAuthentic(sealed, nowMs);
        ++this.figures.mediaPacketsReceived;
        this.statistics.onPacket(arrival.packet.sequence, nowMs);
        const primary = arrival.packet.primary;
        this.timing.onArrival(primary.timestamp, opusPacketSamples(primary.payload), sealed.length, nowMs, !late);
        const decode: EncodedFrame[] = [];
        for (const copy of arrival.packet.redundant) {
          if (this.remember(copy.timestamp)) {
            decode.push(copy);
            ++this.figures.framesRecovered;
            ++this.recoveredInInterval;
          }
        }
        if (this.remember(arrival.packet.primary.timestamp)) decode.push(arrival.packet.primary);
        return { decode, authentic: true };
      }
      case 'report':
        this.noteAuthentic(sealed, nowMs);
        this.onReport(arrival.report, nowMs, late);
        return { decode: [], authentic: true };
      case 'probe':
        this.noteAuthentic(sealed, nowMs);
        return {
          decode: [], authentic: true,
          reply: this.packets.sealProbeReply({ path: arrival.probe.path, sequence: arrival.probe.sequence,
            echoMs: arrival.probe.sentMs, replyDelayMs: 0 }, nowMs),
        };
      case 'control':
        this.noteAuthentic(sealed, nowMs);
        if (arrival.content[0] === QUALITY_REPORT_TYPE) {
          this.onQualityReport(arrival.content, nowMs, late ? this.stallStartMs : nowMs);
        }
        if (arrival.content[0] === BYE_TYPE) this.onBye(arrival.content);
        return { decode: [], authentic: true }; // unknown types are ignored
      case 'probe_reply':
        this.noteAuthentic(sealed, nowMs);
        return { decode: [], authentic: true }; // nothing of ours asks
    }
  }

  // The peer hung up on the media path (its bye): its server may no longer know the call.
  get peerSaidBye(): boolean {
    return this.peerSaidByeValue;
  }

  // A sealed bye (0x05) for a call that ends here; the caller sends a few copies, since
  // the front forwards each as one UDP datagram.
  sealBye(nowMs: number): Bytes {
    return this.packets.sealControl(serializeBye({ reason: BYE_REASON_HANGUP }), nowMs);
  }

  private onBye(content: Bytes): void {
    try {
      parseBye(content);
      this.peerSaidByeValue = true;
    } catch {
      // a malformed bye is ignored, as native does
    }
  }

  // What the playout buffer holds now (ms), for the next quality report.
  noteJitterBufferMs(ms: number): void {
    this.jitterBufferMs = ms;
  }

  // Timers, at least every 50 ms: the bitrate controller's, and a report that no media
  // packet took within a frame of being due (DTX silence, nothing captured): at most
  // one sealed control packet to send alone.
  tick(nowMs: number): Bytes[] {
    this.afterStall(nowMs, false);
    this.controller.onTick(nowMs);
    this.figures.targetWireKbps = this.controller.targetWireBps / 1000;
    const frameMs = this.controller.settings.frameMs;
    if (this.pendingReceiverReport ? nowMs < this.receiverReportPendingSinceMs + frameMs
      : nowMs < this.nextReportMs + frameMs) {
      return [];
    }
    const report = this.reportIfDue(nowMs);
    return report ? [report] : [];
  }

  // The pending receiver report, else the quality report when due (with the receiver
  // report pending behind it), else nothing. What src/parley/call/call_media.cc's
  // SendReportsIfDue does.
  private reportIfDue(nowMs: number): Bytes | undefined {
    if (this.pendingReceiverReport) return this.sealPendingReceiverReport(nowMs);
    if (nowMs < this.nextReportMs) return undefined;
    const intervalMs = Math.max(1, nowMs - this.intervalStartMs);
    this.intervalStartMs = nowMs;
    this.figures.sendKbps = (this.bytesSentInInterval * 8) / intervalMs;
    this.figures.receiveKbps = (this.bytesReceivedInInterval * 8) / intervalMs;
    this.bytesSentInInterval = 0;
    this.bytesReceivedInInterval = 0;
    const loss = this.statistics.takeInterval();
    const timing = this.timing.takeInterval();
    const lossBefore = Math.min(1, Math.max(0, lossFraction(loss)));
    this.figures.receiveLossFraction = lossBefore;
    // Loss after recovery, as far as this side knows it: packets lost whose frame no copy
    // brought (the browser has no Opus FEC decode; the playout buffer conceals the rest).
    const lost = Math.max(0, loss.expected - loss.received);
    const lossAfter = loss.expected === 0 ? 0 : Math.max(0, lost - this.recoveredInInterval) / loss.expected;
    this.recoveredInInterval = 0;
    const quality: QualityReport = {
      dataSaving: false,
      lossBeforeRecovery: lossUnits(lossBefore),
      lossAfterRecovery: lossUnits(lossAfter),
      jitterMs: saturatedMs(timing.jitterMs),
      jitterBufferMs: saturatedMs(this.jitterBufferMs),
      queueDelayMs: saturatedMs(timing.queueDelayMs),
      receivedBps: Math.min(0xffffffff, Math.round((timing.bytes * 8 * 1000) / intervalMs)),
      intervalMs: saturatedMs(intervalMs),
    };
    this.figures.lastQuality = quality;
    // While a queue builds or packets go missing, the quality report four times a second:
    // the sender learns sooner, and a report has more chances through a full queue.
    const queueTrouble = timing.queueDelayMs >= TROUBLE_QUEUE_MS;
    const trouble = queueTrouble || lossBefore > TROUBLE_LOSS;
    this.nextReportMs = nowMs + (trouble ? this.options.reportIntervalMs / 4 : this.options.reportIntervalMs);
    // Counted since the last receiver report (in queue trouble or data saving it skips intervals).
    this.receiverReportExpected += loss.expected;
    this.receiverReportReceived += loss.received;
    const report: ReceiverReport = {
      expected: this.receiverReportExpected, received: this.receiverReportReceived, sentMs: 0, echoMs: 0, echoDelayMs: 0,
    };
    if (this.controller.dataSaving) {
      // Data saving's 12 kbit/s counts control packets too (as native's): nine 156-byte
      // media packets can fall in one second, which leaves room for one control packet,
      // not two. So the reports take turns, one a second, no faster in trouble.
      this.nextReportMs = nowMs + this.options.reportIntervalMs;
      this.qualityReportWentLast = !this.qualityReportWentLast;
      if (this.qualityReportWentLast) return this.sealControlPacket(serializeQualityReport(quality), nowMs);
      this.receiverReportExpected = this.receiverReportReceived = 0;
      this.pendingReceiverReport = report;
      return this.sealPendingReceiverReport(nowMs);
    }
    const sealedQuality = this.sealControlPacket(serializeQualityReport(quality), nowMs);
    // In queue trouble the receiver report only once a second: both four times a second
    // would cost ~6 kbit/s on the wire, a quarter of a 24 kbit/s bottleneck.
    if (queueTrouble && nowMs < this.nextReceiverReportMs) return sealedQuality;
    this.receiverReportExpected = this.receiverReportReceived = 0;
    this.nextReceiverReportMs = nowMs + this.options.reportIntervalMs - 50;
    this.pendingReceiverReport = report;
    this.receiverReportPendingSinceMs = nowMs;
    return sealedQuality;
  }

  // The receiver report with its send time and our echo of the peer's newest one.
  private sealPendingReceiverReport(nowMs: number): Bytes {
    const report = this.pendingReceiverReport!;
    this.pendingReceiverReport = undefined;
    report.sentMs = this.clockMs(nowMs);
    if (this.peerSentMs !== undefined) {
      report.echoMs = this.peerSentMs;
      report.echoDelayMs = Math.max(0, Math.floor(nowMs - this.peerReportArrivalMs));
    }
    return this.paidFor(this.packets.sealReport(report, nowMs), nowMs);
  }

  private sealControlPacket(content: Bytes, nowMs: number): Bytes {
    return this.paidFor(this.packets.sealControl(content, nowMs), nowMs);
  }

  // A control packet we send: the budget pays for it (as native's), and it counts as sent.
  private paidFor(sealed: Bytes, nowMs: number): Bytes {
    this.controller.onControlSent(sealed.length, nowMs);
    this.bytesSentInInterval += sealed.length;
    return sealed;
  }

  // True for a call right after the main thread was held up, and for arrivals handed over
  // back to back after it (the backlog); `arrival`: an onSealed call (only arrivals extend
  // a burst: the tick, capture and arrivals each come every 20 ms or so, and together
  // they would chain one burst on forever).
  private afterStall(nowMs: number, arrival: boolean): boolean {
    const stalled = this.lastCallMs !== undefined && nowMs - this.lastCallMs >= MAIN_THREAD_STALL_MS;
    if (stalled) this.stallStartMs = this.lastCallMs!;
    this.lastCallMs = nowMs;
    if (stalled) {
      this.burstLastMs = nowMs;
      ++this.figures.mainThreadStalls;
      return true;
    }
    if (!arrival || nowMs - this.burstLastMs > BURST_MS) return false;
    this.burstLastMs = nowMs;
    return true;
  }

  // ms since the media started plus 1, modulo 2^32 (0 means "no report yet").
  private clockMs(nowMs: number): number {
    return (Math.floor(nowMs - this.startMs) + 1) >>> 0;
  }

  // `late`: handed over in the burst after a stall, so when it arrived is not known: it
  // neither measures the RTT nor is echoed (the echo's delay would be short by the stall,
  // and both ends' RTT long by it); our next report echoes the one before it.
  private onReport(report: ReceiverReport, nowMs: number, late: boolean): void {
    ++this.figures.reportsReceived;
    if (!late) {
      this.peerSentMs = report.sentMs;
      this.peerReportArrivalMs = nowMs;
    }
    const loss = report.expected === 0 ? 0 : Math.min(1, Math.max(0, 1 - report.received / report.expected));
    this.figures.sendLossFraction = loss;
    if (report.echoMs !== 0 && !late) {
      const rtt = (this.clockMs(nowMs) - report.echoMs - report.echoDelayMs) >>> 0;
      if (rtt < RTT_BOGUS_MS) {
        this.figures.rttMs = rtt;
        this.controller.onRtt(rtt);
      }
    }
    this.controller.onReceiverReportLoss(loss); // only while the peer sends no quality reports
  }

  // A malformed one is ignored, as native does (it authenticated: a newer or hostile peer).
  // `arrivedByMs`: when it arrived at the latest (for one handed over in the burst after a
  // stall, the stall's start: the page sent nothing during the stall, so the report covers
  // what went before it, not the backlog sent in the burst).
  private onQualityReport(content: Bytes, nowMs: number, arrivedByMs: number): void {
    let report: QualityReport;
    try {
      report = parseQualityReport(content);
    } catch {
      return;
    }
    ++this.figures.qualityReportsReceived;
    // The peer measures one-way delay against our media clock, so packets we held back
    // (a stall of the page's main thread, of capture or of the encoder, then a burst) read
    // as a queue there. Our own lateness over the packets its interval covers (sent up to
    // an RTT ago) comes off: a stall is not a queue, a queue on the path still shows.
    const toMs = arrivedByMs - (this.figures.rttMs ?? RTT_BEFORE_MEASURED_MS);
    const ownMs = this.sendTiming.excessMs(toMs - report.intervalMs, toMs);
    this.figures.ownSendDelayMs = ownMs;
    this.controller.onQualityReport({ ...report, queueDelayMs: Math.max(0, report.queueDelayMs - ownMs) }, nowMs);
    this.figures.targetWireKbps = this.controller.targetWireBps / 1000;
  }

  private noteAuthentic(sealed: Bytes, nowMs: number): void {
    this.bytesReceivedInInterval += sealed.length;
    this.figures.lastAuthenticMs = nowMs;
  }

  // True if `timestamp` was not handed to the decoder before (and now is).
  private remember(timestamp: number): boolean {
    if (this.decodedTimestamps.has(timestamp)) return false;
    this.decodedTimestamps.add(timestamp);
    this.decodedOrder.push(timestamp);
    if (this.decodedOrder.length > REMEMBERED_TIMESTAMPS) this.decodedTimestamps.delete(this.decodedOrder.shift()!);
    return true;
  }
}

