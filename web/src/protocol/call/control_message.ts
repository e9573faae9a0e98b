// In-call control messages, the content of sealed control packets: the receiver
// report, the path probe and its reply. docs/protocol.md, "In-call control messages"
// and "Path probes and path choice"; same errors as control_message.cc.
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
