// The bye control message (0x05): the native layout byte for byte, an unknown reason
// read as hangup, and the native parser's errors word for word.
import { describe, expect, it } from 'vitest';
import {
  BYE_REASON_HANGUP, parseBye, parseProbe, parseReceiverReport, serializeBye, serializeProbe,
} from '../src/protocol/call/control_message';

describe('bye', () => {
  it('is 0x05 0x01 and reads back', () => {
    const bytes = serializeBye({ reason: BYE_REASON_HANGUP });
    expect(Array.from(bytes)).toEqual([0x05, 0x01]);
    expect(parseBye(bytes)).toEqual({ reason: BYE_REASON_HANGUP });
  });

  it('reads a later reason as hangup', () => {
    expect(parseBye(Uint8Array.of(0x05, 0x7f))).toEqual({ reason: BYE_REASON_HANGUP });
  });

  it('refuses other sizes and types with the native sentences', () => {
    expect(() => parseBye(new Uint8Array())).toThrow('control message is empty');
    expect(() => parseBye(Uint8Array.of(0x05, 0x01, 0x00))).toThrow('bye is 3 bytes, expected 2');
    expect(() => parseBye(Uint8Array.of(0x05))).toThrow('bye is 1 bytes, expected 2');
    expect(() => parseBye(serializeProbe({ path: 0, sequence: 0, sentMs: 0 }))).toThrow('control message type 2 is unknown');
    expect(() => parseProbe(serializeBye({ reason: BYE_REASON_HANGUP }))).toThrow();
    expect(() => parseReceiverReport(serializeBye({ reason: BYE_REASON_HANGUP }))).toThrow();
  });
});
