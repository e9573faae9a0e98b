// In-call control messages, the content of sealed control packets: the receiver
// report. docs/protocol.md, "In-call control messages"; same errors as control_message.cc.
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
