// A strict JSON reader (RFC 8259) for signaling: unlike JSON.parse it refuses
// duplicate keys, limits nesting while parsing, and keeps each number's text so
// integers are checked exactly. docs/protocol.md, "Encoding", rules 1-4.
import { utf8 } from '../bytes';

export class JsonNumber {
  constructor(readonly text: string) {}
  // The exact value if the number is written as an integer (no fraction or exponent).
  integer(): bigint | undefined {
    return /^-?(0|[1-9][0-9]*)$/.test(this.text) ? BigInt(this.text) : undefined;
  }
}
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>; // in document order; keys unique

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_NESTING_DEPTH = 8; // the top-level value is level 1

export class JsonError extends Error {}

export function quote(text: string): string {
  const bytes = utf8(text);
  if (bytes.length <= 40) return `'${text}'`;
  let cut = 40;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) --cut;
  return `'${new TextDecoder().decode(bytes.subarray(0, cut))}...'`;
}

// Throws JsonError with the native client's sentence for each rule.
export function parseStrictJson(text: string): JsonValue {
  const size = utf8(text).length;
  if (size > MAX_MESSAGE_BYTES) throw new JsonError(`The message is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES}.`);
  const parser = new Parser(text);
  parser.space();
  const value = parser.value(0);
  parser.space();
  if (!parser.atEnd()) parser.fail();
  return value;
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos === this.text.length;
  }

  fail(): never {
    throw new JsonError('The message is not valid JSON.');
  }

  space(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) ++this.pos;
  }

  value(depth: number): JsonValue {
    const c = this.text[this.pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_NESTING_DEPTH) {
        throw new JsonError(`The message nests objects and lists deeper than ${MAX_NESTING_DEPTH} levels.`);
      }
      return c === '{' ? this.object(depth) : this.array(depth);
    }
    if (c === '"') return this.string();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, true);
    if (this.text.startsWith('false', this.pos)) return this.literal(5, false);
    if (this.text.startsWith('null', this.pos)) return this.literal(4, null);
    return this.number();
  }

  private literal<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  private object(depth: number): JsonObject {
    const out: JsonObject = new Map();
    ++this.pos;
    this.space();
    if (this.text[this.pos] === '}') {
      ++this.pos;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail();
      const key = this.string();
      if (out.has(key)) throw new JsonError(`The message has the field ${quote(key)} twice.`);
      this.space();
      if (this.text[this.pos] !== ':') this.fail();
      ++this.pos;
      this.space();
      out.set(key, this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail();
    }
  }

  private array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    ++this.pos;
    this.space();
    if (this.text[this.pos] === ']') {
      ++this.pos;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail();
    }
  }

  private number(): JsonNumber {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m || m[0].length === 0) this.fail();
    this.pos += m[0].length;
    return new JsonNumber(m[0]);
  }

  private string(): string {
    ++this.pos; // opening quote
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x22) return out;
      if (c < 0x20) this.fail();
      if (c >= 0xd800 && c <= 0xdfff) {
        // A raw surrogate must be a well-formed pair (text from a WebSocket frame is
        // valid UTF-8, so this holds there).
        const next = this.text.charCodeAt(this.pos);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail();
        out += String.fromCharCode(c, next);
        ++this.pos;
        continue;
      }
      if (c !== 0x5c) {
        out += String.fromCharCode(c);
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        continue;
      }
      if (e !== 'u') this.fail();
      const unit = this.hex4();
      if (unit >= 0xdc00 && unit <= 0xdfff) this.fail(); // lone low surrogate
      if (unit >= 0xd800 && unit <= 0xdbff) {
        if (this.text.slice(this.pos, this.pos + 2) !== '\\u') this.fail();
        this.pos += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail();
        out += String.fromCharCode(unit, low);
      } else {
        out += String.fromCharCode(unit);
      }
    }
  }

  private hex4(): number {
    const h = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail();
    this.pos += 4;
    return parseInt(h, 16);
  }
}
