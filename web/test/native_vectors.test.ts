// Byte-for-byte agreement with the native client: reproduces every value that
// tests/web_vectors/web_vectors.cc wrote into test/vectors/native.json (a ctest fails
// when the native code stops producing that file, so a wire change reaches here).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/protocol/bytes';
import {
  parseProbe, parseProbeReply, parseReceiverReport, serializeProbe, serializeProbeReply, serializeReceiverReport,
} from '../src/protocol/call/control_message';
import type { DirectionKeys } from '../src/protocol/crypto/call_keys';
import { Fingerprint } from '../src/protocol/crypto/fingerprint';
import { SeedIdentityKey, verifySignature } from '../src/protocol/crypto/identity_key';
import { type CallContext, KeyAgreement, contextHash } from '../src/protocol/crypto/key_agreement';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { PacketOpener } from '../src/protocol/crypto/packet_opener';
import { PacketSealer } from '../src/protocol/crypto/packet_sealer';
import { parsePaddingPolicy } from '../src/protocol/crypto/padding_policy';
import { safetyNumber } from '../src/protocol/crypto/safety_number';
import { parseMediaPacket, serializeMediaPacket } from '../src/protocol/media/media_packet';
import { type AuthPurpose, authSignedBytes } from '../src/protocol/signal/client_auth';
import { parseMessage, serializeMessage } from '../src/protocol/signal/messages';
import { loadSodium } from '../src/protocol/sodium';

/* eslint-disable @typescript-eslint/no-explicit-any */
const vectors: any = JSON.parse(readFileSync(new URL('./vectors/native.json', import.meta.url), 'utf8'));

beforeAll(async () => {
  await loadSodium();
});

const direction = (j: any): DirectionKeys => ({ chainKey: fromHex(j.chain_key), headerKey: fromHex(j.header_key) });

describe('native vectors', () => {
  it('seeded key source', () => {
    const source = new SeededKeySource(fromHex(vectors.key_source.seed));
    for (const fill of vectors.key_source.fills) expect(toHex(source.fill(fill.length))).toBe(fill.bytes);
    const byNumber = new SeededKeySource(BigInt(`0x${vectors.key_source.u64_seed}`));
    expect(toHex(byNumber.fill(32))).toBe(vectors.key_source.u64_first_fill_32);
  });

  it('identity keys and signatures', () => {
    for (const v of vectors.identity) {
      const key = SeedIdentityKey.fromSeed(fromHex(v.seed));
      expect(toHex(key.publicKey)).toBe(v.public);
      expect(toHex(key.signNow(fromHex(v.message)))).toBe(v.signature);
      expect(verifySignature(key.publicKey, fromHex(v.message), fromHex(v.signature))).toBe(true);
      expect(verifySignature(key.publicKey, utf8('other'), fromHex(v.signature))).toBe(false);
    }
  });

  it('register, login and delete-account signatures', () => {
    for (const v of vectors.auth) {
      const bytes = authSignedBytes(v.purpose as AuthPurpose, fromHex(v.challenge), v.user, v.device, v.server);
      expect(toHex(bytes)).toBe(v.signed_bytes);
      expect(toHex(SeedIdentityKey.fromSeed(fromHex(v.identity_seed)).signNow(bytes))).toBe(v.signature);
    }
  });

  it('a whole key agreement with seeded keys, and the keys it derives', async () => {
    const v = vectors.key_agreement;
    const identities = new SeededKeySource(0x5eedn);
    const callerId = SeedIdentityKey.generate(identities);
    const calleeId = SeedIdentityKey.generate(identities);
    expect(toHex(callerId.publicKey)).toBe(v.caller_identity_public);
    expect(toHex(calleeId.publicKey)).toBe(v.callee_identity_public);
    const context: CallContext = { callId: fromHex(v.call_id), caller: v.caller, callee: v.callee };
    expect(toHex(contextHash(context))).toBe(v.context_hash);
    const caller = new KeyAgreement('caller', context, callerId, new SeededKeySource(1n));
    const callee = new KeyAgreement('callee', context, calleeId, new SeededKeySource(2n));
    const commit = await caller.makeCommit();
    expect(toHex(commit)).toBe(v.commit);
    callee.receive(commit);
    const accept = await callee.makeAccept();
    expect(toHex(accept)).toBe(v.accept);
    caller.receive(accept);
    const reveal = await caller.makeReveal();
    expect(toHex(reveal)).toBe(v.reveal);
    callee.receive(reveal);
    const keys = caller.takeKeys();
    expect(direction(v.caller_keys.media_send)).toEqual(keys.media.send);
    expect(direction(v.caller_keys.media_receive)).toEqual(keys.media.receive);
    expect(direction(v.caller_keys.control_send)).toEqual(keys.control.send);
    expect(direction(v.caller_keys.control_receive)).toEqual(keys.control.receive);
    expect(toHex(Uint8Array.from(keys.fingerprint.indices))).toBe(v.fingerprint_indices);
    expect(keys.fingerprint.emoji()).toBe(v.fingerprint_emoji);
    expect(keys.fingerprint.words()).toBe(v.fingerprint_words);
    expect(callee.fingerprint.equals(keys.fingerprint)).toBe(true);
    expect(safetyNumber(calleeId.publicKey, callerId.publicKey)).toBe(v.safety_number);
  });

  it('sealed packets across counters, epochs and padding policies, and opens them', () => {
    const keys = vectors.key_agreement.caller_keys;
    // The caller's send keys are the callee's receive keys and vice versa.
    const byStream: Record<string, DirectionKeys> = {
      'media caller_to_callee': direction(keys.media_send),
      'media callee_to_caller': direction(keys.media_receive),
      'control caller_to_callee': direction(keys.control_send),
      'control callee_to_caller': direction(keys.control_receive),
    };
    for (const series of vectors.key_agreement.sealed_series) {
      const schedule = { counterBits: series.counter_bits, maxEpochAgeMs: series.max_epoch_age_ms };
      const sealer = new PacketSealer(byStream[series.stream]!, 0, parsePaddingPolicy(series.padding), schedule);
      const opener = new PacketOpener(byStream[series.stream]!, schedule);
      for (const p of series.packets) {
        const sealed = sealer.seal(fromHex(p.content), p.now_ms);
        expect(toHex(sealed), `${series.stream} counter ${p.counter}`).toBe(p.sealed);
        expect(sealer.epoch).toBe(BigInt(p.epoch));
        const opened = opener.open(fromHex(p.sealed));
        expect(opened.counter).toBe(BigInt(p.counter));
        expect(toHex(opened.content)).toBe(p.content);
      }
    }
  });

  it('fingerprints and safety numbers', () => {
    for (const v of vectors.fingerprints) {
      const f = Fingerprint.fromSecret(fromHex(v.secret));
      expect(f.emoji()).toBe(v.emoji);
      expect(f.words()).toBe(v.words);
    }
    for (const v of vectors.safety_numbers) {
      expect(safetyNumber(fromHex(v.a), fromHex(v.b))).toBe(v.safety_number);
      expect(safetyNumber(fromHex(v.b), fromHex(v.a))).toBe(v.safety_number);
    }
  });

  it('media payloads: the same bytes, and the same refusals with the same sentences', () => {
    for (const v of vectors.media_packet.valid) {
      const packet = {
        sequence: v.sequence,
        primary: { timestamp: v.timestamp, payload: fromHex(v.primary) },
        redundant: v.redundant.map((r: any) => ({ timestamp: r.timestamp, payload: fromHex(r.payload) })),
      };
      expect(toHex(serializeMediaPacket(packet))).toBe(v.bytes);
      expect(parseMediaPacket(fromHex(v.bytes))).toEqual(packet);
    }
    for (const v of vectors.media_packet.invalid) {
      expect(() => parseMediaPacket(fromHex(v.bytes)), v.bytes).toThrow(v.error);
    }
  });

  it('receiver reports', () => {
    const v = vectors.receiver_report;
    const report = { expected: v.report.expected, received: v.report.received, sentMs: v.report.sent_ms,
      echoMs: v.report.echo_ms, echoDelayMs: v.report.echo_delay_ms };
    expect(toHex(serializeReceiverReport(report))).toBe(v.bytes);
    expect(parseReceiverReport(fromHex(v.bytes))).toEqual(report);
    for (const bad of v.invalid) expect(() => parseReceiverReport(fromHex(bad.bytes))).toThrow(bad.error);
  });

  it('path probes and replies', () => {
    const v = vectors.path_probe;
    const probe = { path: v.probe.path, sequence: v.probe.sequence, sentMs: v.probe.sent_ms };
    const reply = { path: v.reply.path, sequence: v.reply.sequence, echoMs: v.reply.echo_ms, replyDelayMs: v.reply.reply_delay_ms };
    expect(toHex(serializeProbe(probe))).toBe(v.probe_bytes);
    expect(parseProbe(fromHex(v.probe_bytes))).toEqual(probe);
    expect(toHex(serializeProbeReply(reply))).toBe(v.reply_bytes);
    expect(parseProbeReply(fromHex(v.reply_bytes))).toEqual(reply);
    for (const bad of v.invalid) {
      expect(() => parseProbe(fromHex(bad.bytes))).toThrow(bad.probe_error);
      expect(() => parseProbeReply(fromHex(bad.bytes))).toThrow(bad.reply_error);
    }
  });

  it('signaling: canonical JSON identical to the native serializer', () => {
    for (const v of vectors.signaling.valid) {
      const message = parseMessage(v.input);
      expect(serializeMessage(message), v.input).toBe(v.canonical);
      expect(serializeMessage(parseMessage(v.canonical))).toBe(v.canonical);
    }
  });

  it('signaling: refuses what the native parser refuses, with the same sentence', () => {
    for (const v of vectors.signaling.invalid) {
      let error = '';
      try {
        parseMessage(v.input);
      } catch (e) {
        error = (e as Error).message;
      }
      // nlohmann-json says where a syntax error is; the sentence is otherwise the same.
      const expected = (v.error as string).replace(/ \(error at byte \d+\)\.$/, '.');
      expect(error, v.input.slice(0, 80)).toBe(expected);
    }
  });
});
