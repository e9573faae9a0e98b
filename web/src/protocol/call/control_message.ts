// In-call control messages, the content of sealed control packets: the receiver
// report, the quality report, the path probe and its reply. docs/protocol.md, "In-call
// control messages" and "Path probes and path choice"; same errors as control_message.cc.
import { type Bytes, readU32be, writeU32be } from '../bytes';

export const RECEIVER_REPORT_TYPE = 0x01;
export const RECEIVER_REPORT_SIZE = 21;

// All u32: counts for the last report interval, and ms timestamps for the RTT
// (rtt = now - echoMs - echoDelayMs on the receiver's clock, as RTCP LSR/DLSR).
export interface ReceiverReport {
  expected: number;
  received: number;
  sentMs: number;
  echoMs: number;
  echoDelayMs: number;
}

export function serializeReceiverReport(report: ReceiverReport): Bytes {
  const out = new Uint8Array(RECEIVER_REPORT_SIZE);
  out[0] = RECEIVER_REPORT_TYPE;
  [report.expected, report.received, report.sentMs, report.echoMs, report.echoDelayMs]
    .forEach((v, i) => writeU32be(out, 1 + 4 * i, v));
  return out;
}

// Strict: exactly 21 bytes of type 0x01. Callers ignore (not fail on) unknown types.
export function parseReceiverReport(bytes: Bytes): ReceiverReport {
  if (bytes.length === 0) throw new Error('control message is empty');
  if (bytes[0] !== RECEIVER_REPORT_TYPE) throw new Error(`control message type ${bytes[0]} is unknown`);
  if (bytes.length !== RECEIVER_REPORT_SIZE) {
    throw new Error(`receiver report is ${bytes.length} bytes, expected ${RECEIVER_REPORT_SIZE}`);
  }
  return {
    expected: readU32be(bytes, 1),
    received: readU32be(bytes, 5),
    sentMs: readU32be(bytes, 9),
    echoMs: readU32be(bytes, 13),
    echoDelayMs: readU32be(bytes, 17),
  };
}

export const PROBE_TYPE = 0x02;
export const PROBE_SIZE = 10;
export const PROBE_REPLY_TYPE = 0x03;
export const PROBE_REPLY_SIZE = 14;

// probe = 0x02 || u8 path || u32be sequence || u32be sent_ms: the prober's own numbers,
// only echoed. A receiver answers at once on the path the probe arrived on.
export interface Probe {
  path: number;
  sequence: number;
  sentMs: number;
}

// probe reply = 0x03 || u8 path || u32be sequence || u32be echo_ms || u32be reply_delay_ms
export interface ProbeReply {
  path: number;
  sequence: number;
  echoMs: number;
  replyDelayMs: number; // how long the probe waited before this reply left
}

function checkLayout(bytes: Bytes, type: number, size: number, name: string): void {
  if (bytes.length === 0) throw new Error('control message is empty');
  if (bytes[0] !== type) throw new Error(`control message type ${bytes[0]} is unknown`);
  if (bytes.length !== size) throw new Error(`${name} is ${bytes.length} bytes, expected ${size}`);
}

export function serializeProbe(probe: Probe): Bytes {
  const out = new Uint8Array(PROBE_SIZE);
  out[0] = PROBE_TYPE;
  out[1] = probe.path;
  writeU32be(out, 2, probe.sequence);
  writeU32be(out, 6, probe.sentMs);
  return out;
}

export function parseProbe(bytes: Bytes): Probe {
  checkLayout(bytes, PROBE_TYPE, PROBE_SIZE, 'probe');
  return { path: bytes[1]!, sequence: readU32be(bytes, 2), sentMs: readU32be(bytes, 6) };
}

export function serializeProbeReply(reply: ProbeReply): Bytes {
  const out = new Uint8Array(PROBE_REPLY_SIZE);
  out[0] = PROBE_REPLY_TYPE;
  out[1] = reply.path;
  writeU32be(out, 2, reply.sequence);
  writeU32be(out, 6, reply.echoMs);
  writeU32be(out, 10, reply.replyDelayMs);
  return out;
}

export function parseProbeReply(bytes: Bytes): ProbeReply {
  checkLayout(bytes, PROBE_REPLY_TYPE, PROBE_REPLY_SIZE, 'probe reply');
  return { path: bytes[1]!, sequence: readU32be(bytes, 2), echoMs: readU32be(bytes, 6), replyDelayMs: readU32be(bytes, 10) };
}

export const QUALITY_REPORT_TYPE = 0x04;
export const QUALITY_REPORT_SIZE = 18;
export const QUALITY_FLAG_DATA_SAVING = 0x01;

// quality = 0x04 || u8 flags || u16be lossBefore || u16be lossAfter || u16be jitterMs
//           || u16be jitterBufferMs || u16be queueDelayMs || u32be receivedBps || u16be intervalMs
// Losses in 1/10000 (a reader clamps above 10000); ms saturate at 65535. Flag bit 0:
// the sender asks its peer for data saving; other bits sent 0 and ignored.
export interface QualityReport {
  dataSaving: boolean;
  lossBeforeRecovery: number; // 1/10000 of packets expected
  lossAfterRecovery: number; // 1/10000 of frames due that were concealed
  jitterMs: number; // RFC 3550 interarrival jitter
  jitterBufferMs: number;
  queueDelayMs: number; // mean one-way delay above its ~10 s minimum
  receivedBps: number; // sealed media bytes that arrived, bit/s
  intervalMs: number; // what the figures cover: 1000, or 250 while the receiver sees trouble
}

function writeU16be(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 8) & 0xff;
  out[at + 1] = v & 0xff;
}

function readU16be(bytes: Bytes, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

export function serializeQualityReport(report: QualityReport): Bytes {
  const out = new Uint8Array(QUALITY_REPORT_SIZE);
  out[0] = QUALITY_REPORT_TYPE;
  out[1] = report.dataSaving ? QUALITY_FLAG_DATA_SAVING : 0;
  [report.lossBeforeRecovery, report.lossAfterRecovery, report.jitterMs, report.jitterBufferMs, report.queueDelayMs]
    .forEach((v, i) => writeU16be(out, 2 + 2 * i, v));
  writeU32be(out, 12, report.receivedBps);
  writeU16be(out, 16, report.intervalMs);
  return out;
}

// Strict: exactly 18 bytes of type 0x04; unknown flag bits are ignored.
export function parseQualityReport(bytes: Bytes): QualityReport {
  checkLayout(bytes, QUALITY_REPORT_TYPE, QUALITY_REPORT_SIZE, 'quality report');
  return {
    dataSaving: (bytes[1]! & QUALITY_FLAG_DATA_SAVING) !== 0,
    lossBeforeRecovery: readU16be(bytes, 2),
    lossAfterRecovery: readU16be(bytes, 4),
    jitterMs: readU16be(bytes, 6),
    jitterBufferMs: readU16be(bytes, 8),
    queueDelayMs: readU16be(bytes, 10),
    receivedBps: readU32be(bytes, 12),
    intervalMs: readU16be(bytes, 16),
  };
}

// 0..1 -> 0..10000 and ms -> 0..65535, saturating, as the native LossUnits/SaturatedMs.
export function lossUnits(fraction: number): number {
  if (!(fraction > 0)) return 0;
  if (fraction >= 1) return 10000;
  return Math.round(fraction * 10000);
}

export function saturatedMs(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms >= 65535) return 65535;
  return Math.round(ms);
}

export const BYE_TYPE = 0x05;
export const BYE_SIZE = 2;
export const BYE_REASON_HANGUP = 0x01;

// bye = 0x05 || u8 reason: the peer hung up, said on the media path so that a call
// whose server no longer knows it still ends (docs/protocol.md, "In-call control
// messages"). A reason other than 0x01 reads as hangup. The web client sends three
// copies when its call ends and ends its call on the peer's (then sends `hangup`).
export interface Bye {
  reason: typeof BYE_REASON_HANGUP;
}

export function serializeBye(_bye: Bye): Bytes {
  return Uint8Array.of(BYE_TYPE, BYE_REASON_HANGUP);
}

// Strict: exactly 2 bytes of type 0x05; same errors as the native ParseBye.
export function parseBye(bytes: Bytes): Bye {
  checkLayout(bytes, BYE_TYPE, BYE_SIZE, 'bye');
  return { reason: BYE_REASON_HANGUP };
}
