// Signaling messages between client and parleyd: a strict parser and the canonical
// serializer, table-driven from the field lists of docs/protocol.md ("Signaling"), with
// the same checks and one-sentence errors as signal/messages.cc. Fields keep their
// wire names; binary fields are bytes.
import { fromBase64url, toBase64url } from '../base64url';
import { utf8 } from '../bytes';
import { canonicalCandidate } from './candidate_address';
import { type JsonObject, type JsonValue, JsonNumber, parseStrictJson, quote } from './strict_json';

export const MAX_REQUEST_ID = 2 ** 53 - 1;
const MAX_LIST_ENTRIES = 1000;
export const MAX_CANDIDATES = 8;
export const MAX_RELAY_ALTERNATES = 3;

export const AUDIENCES = ['everyone', 'contacts', 'nobody'] as const;
export const END_REASONS = ['not_found', 'busy', 'unavailable', 'declined', 'cancelled', 'hangup', 'timeout',
  'rate_limited', 'failed'] as const;
export const ERROR_CODES = ['bad_message', 'unknown_type', 'unexpected', 'not_logged_in', 'already_logged_in',
  'bad_signature', 'no_such_account', 'username_taken', 'invalid_username', 'invalid_device', 'no_such_user',
  'no_such_call', 'not_allowed', 'in_call', 'rate_limited', 'replaced', 'internal'] as const;
export const CALL_OUTCOMES = ['answered', 'declined', 'busy', 'cancelled', 'missed', 'failed'] as const;

// --- Field kinds ------------------------------------------------------------------

type Kind =
  | { k: 'text'; min: number; max: number }
  | { k: 'binary'; min: number; max: number }
  | { k: 'bool' }
  | { k: 'int'; min: number; max: number; optional?: true; fallback?: number }
  | { k: 'enum'; names: readonly string[]; optional?: true }
  | { k: 'names' }
  | { k: 'addresses' } // P2P candidates, 1..MAX_CANDIDATES
  | { k: 'records' }
  | { k: 'relays'; optional: true }; // relay alternates, 0..MAX_RELAY_ALTERNATES; empty = absent

const name = { k: 'text', min: 1, max: 64 } as const;
const bin = <N extends number>(n: N) => ({ k: 'binary', min: n, max: n }) as const;
const callId = bin(16);
const unixMs = { k: 'int', min: 0, max: MAX_REQUEST_ID } as const;
const en = <T extends readonly string[]>(names: T) => ({ k: 'enum', names }) as const;
const optEnum = <T extends readonly string[]>(names: T) => ({ k: 'enum', names, optional: true }) as const;

const RECORD = [
  ['call_id', callId], ['caller', name], ['callee', name], ['started_unix_ms', unixMs],
  ['answered_unix_ms', unixMs], ['ended_unix_ms', unixMs], ['outcome', en(CALL_OUTCOMES)],
] as const;

const RELAY_ADDRESS = [['host', { k: 'text', min: 1, max: 255 }], ['port', { k: 'int', min: 1, max: 65535 }]] as const;

// Each message's fields in wire order (the canonical order).
const SCHEMA = {
  hello: [['challenge', bin(32)], ['server', { k: 'text', min: 1, max: 255 }]],
  welcome: [['user', name], ['device', name], ['missed_calls', { k: 'records' }]],
  error: [['code', en(ERROR_CODES)], ['message', { k: 'text', min: 1, max: 1024 }]],
  ok: [],
  route: [['call_id', callId], ['to_device', name]],
  incoming: [['call_id', callId], ['from', name], ['from_device', name], ['commit', bin(146)]],
  ringing: [['call_id', callId]],
  accepted: [['call_id', callId], ['key', bin(146)]],
  revealed: [['call_id', callId], ['key', bin(114)]],
  relay: [['call_id', callId], ['host', { k: 'text', min: 1, max: 255 }], ['port', { k: 'int', min: 1, max: 65535 }],
    ['ticket', { k: 'binary', min: 1, max: 512 }], ['p2p', { k: 'bool' }],
    ['hop_key', { k: 'binary', min: 32, max: 32 }], ['bind_key', { k: 'binary', min: 32, max: 32 }],
    ['alternates', { k: 'relays', optional: true }]],
  peer_candidates: [['call_id', callId], ['candidates', { k: 'addresses' }]],
  ended: [['call_id', callId], ['reason', en(END_REASONS)]],
  presence: [['user', name], ['online', { k: 'bool' }]],
  contact_list: [['users', { k: 'names' }]],
  block_list: [['users', { k: 'names' }]],
  current_settings: [['who_may_call', en(AUDIENCES)], ['p2p', en(AUDIENCES)]],
  call_history: [['calls', { k: 'records' }]],
  path_test_tickets: [['call_id', callId], ['host', { k: 'text', min: 1, max: 255 }],
    ['port', { k: 'int', min: 1, max: 65535 }], ['ticket_0', { k: 'binary', min: 1, max: 512 }],
    ['hop_key_0', { k: 'binary', min: 32, max: 32 }], ['ticket_1', { k: 'binary', min: 1, max: 512 }],
    ['hop_key_1', { k: 'binary', min: 32, max: 32 }], ['bind_key', { k: 'binary', min: 32, max: 32 }]],
  app_invite: [['invite', bin(16)]],
  register: [['user', name], ['device', name], ['identity_key', bin(32)], ['signature', bin(64)]],
  login: [['user', name], ['device', name], ['signature', bin(64)]],
  delete_account: [['signature', bin(64)]],
  invite: [['call_id', callId], ['to', name]],
  offer: [['call_id', callId], ['commit', bin(146)]],
  accept: [['call_id', callId], ['key', bin(146)]],
  reveal: [['call_id', callId], ['key', bin(114)]],
  decline: [['call_id', callId]],
  cancel: [['call_id', callId]],
  hangup: [['call_id', callId]],
  contacts_add: [['user', name]],
  contacts_remove: [['user', name]],
  contacts_list: [],
  block: [['user', name]],
  unblock: [['user', name]],
  blocks: [],
  settings: [['who_may_call', optEnum(AUDIENCES)], ['p2p', optEnum(AUDIENCES)]],
  history: [['limit', { k: 'int', min: 1, max: 100, optional: true, fallback: 20 }]],
  candidates: [['call_id', callId], ['candidates', { k: 'addresses' }]],
  path_test: [],
  new_app_invite: [],
} as const satisfies Record<string, ReadonlyArray<readonly [string, Kind]>>;

// Types sent by clients (the rest are server to client).
export const CLIENT_TYPES: ReadonlySet<string> = new Set(['register', 'login', 'delete_account', 'invite', 'offer',
  'accept', 'reveal', 'decline', 'cancel', 'hangup', 'contacts_add', 'contacts_remove', 'contacts_list', 'block',
  'unblock', 'blocks', 'settings', 'history', 'candidates', 'path_test', 'new_app_invite']);

// --- Types derived from the table -------------------------------------------------

type ValueOf<K> = K extends { k: 'text' } ? string
  : K extends { k: 'binary' } ? Uint8Array
  : K extends { k: 'bool' } ? boolean
  : K extends { k: 'int' } ? number
  : K extends { k: 'enum'; names: readonly (infer N)[] } ? N
  : K extends { k: 'names' } ? string[]
  : K extends { k: 'addresses' } ? string[]
  : K extends { k: 'records' } ? CallRecord[]
  : K extends { k: 'relays' } ? RelayAddress[]
  : never;
type IsOptional<K> = K extends { optional: true } ? (K extends { fallback: number } ? false : true) : false;
type FieldsOf<F extends ReadonlyArray<readonly [string, unknown]>> =
  { [E in F[number] as IsOptional<E[1]> extends true ? never : E[0]]: ValueOf<E[1]> } &
  { [E in F[number] as IsOptional<E[1]> extends true ? E[0] : never]?: ValueOf<E[1]> };

export type CallRecord = FieldsOf<typeof RECORD>;
// Another relay holding the same ticket key (the web client reaches relays through the
// TLS front and ignores these).
export type RelayAddress = FieldsOf<typeof RELAY_ADDRESS>;
export type MessageType = keyof typeof SCHEMA;
export type MessageOf<T extends MessageType> = { type: T; id?: number } & FieldsOf<(typeof SCHEMA)[T]>;
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

export function isKnownType(type: string): type is MessageType {
  return Object.hasOwn(SCHEMA, type);
}

// --- Parsing ----------------------------------------------------------------------

class FieldError extends Error {}

function bytewise(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); ++i) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

// Mirrors the native Reader: fields in table order, the first error wins, then any
// field the type does not define (the first in byte order, as a std::map iterates).
class Reader {
  private readonly used = new Set<string>(['type']);

  constructor(private readonly object: JsonObject, private readonly type: string, private readonly prefix = '') {}

  read(fields: ReadonlyArray<readonly [string, Kind]>, out: Record<string, unknown>): void {
    for (const [field, kind] of fields) {
      const value = this.read1(field, kind);
      if (value !== undefined) out[field] = value;
    }
    const unknown = [...this.object.keys()].filter((k) => !this.used.has(k)).sort(bytewise)[0];
    if (unknown !== undefined) {
      throw new FieldError(`${this.where()} has a field ${quote(this.prefix + unknown)} that it does not define; remove it.`);
    }
  }

  readId(out: Record<string, unknown>): void {
    const id = this.read1('id', { k: 'int', min: 0, max: MAX_REQUEST_ID, optional: true });
    if (id !== undefined) out['id'] = id;
  }

  private where(): string {
    return `The '${this.type}' message`;
  }

  private fail(field: string, what: string): never {
    throw new FieldError(`Field '${this.prefix}${field}' of the '${this.type}' message ${what}.`);
  }

  private read1(field: string, kind: Kind): unknown {
    this.used.add(field);
    const value = this.object.get(field);
    if (value === undefined) {
      if (kind.k === 'int' && kind.optional) return kind.fallback;
      if (kind.k === 'enum' && kind.optional) return undefined;
      if (kind.k === 'relays') return undefined;
      throw new FieldError(`${this.where()} is missing the field '${this.prefix}${field}'.`);
    }
    switch (kind.k) {
      case 'text': {
        if (typeof value !== 'string') this.fail(field, 'must be a string');
        const size = utf8(value).length;
        if (size < kind.min || size > kind.max) this.fail(field, `must be a string of ${kind.min} to ${kind.max} bytes, not ${size}`);
        return value;
      }
      case 'binary': {
        const expected = kind.min === kind.max ? `${kind.min} bytes` : `${kind.min} to ${kind.max} bytes`;
        if (typeof value !== 'string') this.fail(field, `must be a string of base64url (${expected})`);
        if (value.length > Math.floor((kind.max + 2) / 3) * 4) this.fail(field, `must be ${expected} of base64url, not longer`);
        let bytes: Uint8Array;
        try {
          bytes = fromBase64url(value);
        } catch {
          this.fail(field, 'is not valid base64url without padding');
        }
        if (bytes.length < kind.min || bytes.length > kind.max) this.fail(field, `must be ${expected}, not ${bytes.length}`);
        return bytes;
      }
      case 'bool':
        if (typeof value !== 'boolean') this.fail(field, 'must be true or false');
        return value;
      case 'int': {
        const v = value instanceof JsonNumber ? value.integer() : undefined;
        if (v === undefined || v < BigInt(kind.min) || v > BigInt(kind.max)) {
          this.fail(field, `must be a whole number from ${kind.min} to ${kind.max}`);
        }
        return Number(v);
      }
      case 'enum':
        if (typeof value !== 'string' || !kind.names.includes(value)) {
          this.fail(field, `must be one of ${kind.names.map((n) => `'${n}'`).join(', ')}`);
        }
        return value;
      case 'names': {
        if (!Array.isArray(value) || value.length > MAX_LIST_ENTRIES) {
          this.fail(field, `must be a list of at most ${MAX_LIST_ENTRIES} strings`);
        }
        return value.map((item, i) => {
          const size = typeof item === 'string' ? utf8(item).length : -1;
          if (size < 1 || size > 64) this.fail(`${field}[${i}]`, 'must be a string of 1 to 64 bytes');
          return item as string;
        });
      }
      case 'addresses': {
        if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CANDIDATES) {
          this.fail(field, `must be a list of 1 to ${MAX_CANDIDATES} addresses`);
        }
        return value.map((item, i) => {
          if (typeof item !== 'string' || utf8(item).length > 64) {
            this.fail(`${field}[${i}]`, 'must be a string such as "203.0.113.7:40000" or "[2001:db8::7]:40000"');
          }
          try {
            return canonicalCandidate(item);
          } catch (e) {
            return this.fail(`${field}[${i}]`, (e as Error).message);
          }
        });
      }
      case 'records': {
        if (!Array.isArray(value) || value.length > MAX_LIST_ENTRIES) {
          this.fail(field, `must be a list of at most ${MAX_LIST_ENTRIES} call records`);
        }
        return value.map((item, i) => {
          if (!(item instanceof Map)) this.fail(`${field}[${i}]`, 'must be an object');
          const record: Record<string, unknown> = {};
          const reader = new Reader(item, this.type, `${this.prefix}${field}[${i}].`);
          reader.used.delete('type');
          reader.read(RECORD, record);
          return record;
        });
      }
      case 'relays': {
        if (!Array.isArray(value) || value.length > MAX_RELAY_ALTERNATES) {
          this.fail(field, `must be a list of at most ${MAX_RELAY_ALTERNATES} relays such as {"host": "relay2.example.org", "port": 3478}`);
        }
        const relays = value.map((item, i) => {
          if (!(item instanceof Map)) this.fail(`${field}[${i}]`, "must be an object with 'host' and 'port'");
          const relay: Record<string, unknown> = {};
          const reader = new Reader(item, this.type, `${this.prefix}${field}[${i}].`);
          reader.used.delete('type');
          reader.read(RELAY_ADDRESS, relay);
          return relay;
        });
        return relays.length === 0 ? undefined : relays;
      }
    }
  }
}

// Strict (docs/protocol.md "Encoding"): throws an Error whose message is the one
// sentence the native parser gives.
export function parseMessage(text: string): Message {
  let json: JsonValue;
  try {
    json = parseStrictJson(text);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  if (!(json instanceof Map)) throw new Error('A message must be a JSON object.');
  const type = json.get('type');
  if (type === undefined) throw new Error("The message has no field 'type'.");
  if (typeof type !== 'string') throw new Error("Field 'type' of the message must be a string.");
  if (!isKnownType(type)) throw new Error(`Unknown message type ${quote(type)}; see docs/protocol.md, "Signaling".`);
  const out: Record<string, unknown> = { type };
  const reader = new Reader(json, type);
  try {
    reader.readId(out);
    reader.read(SCHEMA[type], out);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  return out as Message;
}

// --- Serializing ------------------------------------------------------------------

// Canonical compact JSON: type, then id if present, then the fields in table order;
// absent optional fields left out. JSON.stringify escapes strings as nlohmann-json's
// dump does (named escapes, \u00xx for other controls, UTF-8 as is).
export function serializeMessage(message: Message): string {
  const m = message as unknown as Record<string, unknown>;
  const parts = [`"type":${JSON.stringify(message.type)}`];
  if (message.id !== undefined) parts.push(`"id":${integer(message.id, 0, MAX_REQUEST_ID)}`);
  parts.push(...writeFields(SCHEMA[message.type], m));
  return `{${parts.join(',')}}`;
}

function integer(value: number, min: number, max: number): string {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${value} is not a whole number from ${min} to ${max}`);
  return String(value);
}

function writeFields(fields: ReadonlyArray<readonly [string, Kind]>, m: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [field, kind] of fields) {
    const value = m[field];
    if (kind.k === 'relays' && (value === undefined || (value as unknown[]).length === 0)) continue;
    if (value === undefined) {
      if (kind.k === 'enum' && kind.optional) continue;
      throw new Error(`the '${String(m['type'] ?? 'call record')}' message needs the field '${field}'`);
    }
    out.push(`${JSON.stringify(field)}:${writeValue(kind, value)}`);
  }
  return out;
}

function writeValue(kind: Kind, value: unknown): string {
  switch (kind.k) {
    case 'binary':
      return JSON.stringify(toBase64url(value as Uint8Array));
    case 'int':
      return integer(value as number, kind.min, kind.max);
    case 'names':
      return JSON.stringify(value as string[]);
    case 'addresses':
      return JSON.stringify((value as string[]).map(canonicalCandidate));
    case 'records':
      return `[${(value as Array<Record<string, unknown>>).map((r) => `{${writeFields(RECORD, r).join(',')}}`).join(',')}]`;
    case 'relays':
      return `[${(value as Array<Record<string, unknown>>).map((r) => `{${writeFields(RELAY_ADDRESS, r).join(',')}}`).join(',')}]`;
    default:
      return JSON.stringify(value);
  }
}
