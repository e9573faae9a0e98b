// The known-answer vectors of docs/protocol.md ("Test vectors"), read from the document
// and recomputed with the web client's code: key agreement, key derivation, ratchet,
// sealed packet, fingerprint, safety number, header mask.
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/protocol/bytes';
import { deriveCallKeys, extractPrk } from '../src/protocol/crypto/call_keys';
import { domainHash } from '../src/protocol/crypto/domain_hash';
import { FINGERPRINT_TABLE } from '../src/protocol/crypto/fingerprint_table';
import { parseHandshakeMessage } from '../src/protocol/crypto/handshake_message';
import { headerMask } from '../src/protocol/crypto/header_protection';
import { SeedIdentityKey } from '../src/protocol/crypto/identity_key';
import { type CallContext, KeyAgreement, contextHash } from '../src/protocol/crypto/key_agreement';
import { KeyRatchet } from '../src/protocol/crypto/key_ratchet';
import { PacketOpener } from '../src/protocol/crypto/packet_opener';
import { PacketSealer } from '../src/protocol/crypto/packet_sealer';
import { safetyNumber } from '../src/protocol/crypto/safety_number';
import { loadSodium, sodium } from '../src/protocol/sodium';
import { FixedKeySource, sequence } from './support/fixed_key_source';
import { fingerprintTable, section, testVectors } from './support/protocol_doc';

beforeAll(async () => {
  await loadSodium();
});

const vectorContext = (): CallContext => ({
  callId: sequence(0xc0, 16),
  caller: { user: 'alice', device: 'laptop' },
  callee: { user: 'bob', device: 'phone' },
});

describe('docs/protocol.md test vectors', () => {
  it('reproduces every value from the documented inputs', async () => {
    const doc = testVectors();
    const alice = SeedIdentityKey.fromSeed(sequence(0x00, 32));
    const bob = SeedIdentityKey.fromSeed(sequence(0x20, 32));
    const context = vectorContext();
    const caller = new KeyAgreement('caller', context, alice, new FixedKeySource(sequence(0x40, 32)));
    const callee = new KeyAgreement('callee', context, bob, new FixedKeySource(sequence(0x60, 32)));
    const commit = await caller.makeCommit();
    callee.receive(commit);
    const accept = await callee.makeAccept();
    caller.receive(accept);
    const reveal = await caller.makeReveal();
    callee.receive(reveal);
    expect(caller.complete && callee.complete).toBe(true);

    const shared = sodium().crypto_scalarmult(sequence(0x40, 32), parseHandshakeMessage(accept).key);
    const transcriptHash = domainHash('parley-v1 transcript', contextHash(context), commit, accept, reveal);
    const prk = extractPrk(shared, transcriptHash);
    const keys = caller.takeKeys();
    const ratchet = new KeyRatchet(keys.media.send.chainKey);
    const epoch0Key = toHex(ratchet.keys.aeadKey);
    const epoch0Prefix = toHex(ratchet.keys.noncePrefix);
    ratchet.advanceTo(1n);
    const packet = new PacketSealer(keys.media.send, 0).seal(utf8('hello parley'), 0);
    const opened = new PacketOpener(callee.takeKeys().media.receive).open(packet);
    expect(new TextDecoder().decode(opened.content)).toBe('hello parley');

    const actual: Record<string, string> = {
      alice_identity_public: toHex(alice.publicKey),
      bob_identity_public: toHex(bob.publicKey),
      context_hash: toHex(contextHash(context)),
      commit: toHex(commit),
      accept: toHex(accept),
      reveal: toHex(reveal),
      shared_secret: toHex(shared),
      transcript_hash: toHex(transcriptHash),
      prk: toHex(prk),
      media_chain_caller_to_callee: toHex(keys.media.send.chainKey),
      media_header_caller_to_callee: toHex(keys.media.send.headerKey),
      media_chain_callee_to_caller: toHex(keys.media.receive.chainKey),
      control_chain_caller_to_callee: toHex(keys.control.send.chainKey),
      epoch0_aead_key: epoch0Key,
      epoch0_nonce_prefix: epoch0Prefix,
      epoch1_aead_key: toHex(ratchet.keys.aeadKey),
      sealed_hello_parley_counter0: toHex(packet),
      fingerprint_indices: toHex(Uint8Array.from(keys.fingerprint.indices)),
      fingerprint_emoji: keys.fingerprint.emoji(),
      fingerprint_words: keys.fingerprint.words(),
      safety_number: safetyNumber(alice.publicKey, bob.publicKey),
    };
    for (const [name, value] of Object.entries(actual)) {
      expect(doc.has(name), `docs/protocol.md lists ${name}`).toBe(true);
      expect(value, name).toBe(doc.get(name));
    }
    // The derivation code agrees with the agreement's own result.
    expect(deriveCallKeys(prk, 'caller').fingerprint.emoji()).toBe(doc.get('fingerprint_emoji'));
  });

  it('gives the documented header mask', () => {
    // "Header mask alone: header key `808182…9f`, sample `a0a1…af` → mask `…`"
    const documented = /Header mask alone:.*808182.*a0a1.*mask `([0-9a-f]{16})`/.exec(section('### Test vectors'));
    expect(documented).not.toBeNull();
    expect(toHex(headerMask(sequence(0x80, 32), sequence(0xa0, 16)))).toBe(documented![1]);
  });

  it('has the fingerprint table of the document, entry for entry', () => {
    const table = fingerprintTable();
    expect(table.length).toBe(256);
    expect(FINGERPRINT_TABLE.map(([e, w]) => [e, w])).toEqual(table);
    expect(new Set(FINGERPRINT_TABLE.map(([, w]) => w)).size).toBe(256);
  });

  it('has a safety number independent of argument order', () => {
    const a = fromHex(testVectors().get('alice_identity_public')!);
    const b = fromHex(testVectors().get('bob_identity_public')!);
    expect(safetyNumber(b, a)).toBe(safetyNumber(a, b));
  });
});
