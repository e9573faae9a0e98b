// Reads values out of the normative docs/protocol.md, so the tests check the web
// client against the document itself, not against a copy of it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

export function protocolDoc(): string {
  return readFileSync(DOC, 'utf8');
}

// The text of the section that starts with `heading` (a whole "### ..." line), up to
// the next heading of the same or a higher level.
export function section(heading: string): string {
  const text = protocolDoc();
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no section "${heading}"`);
  const level = heading.split(' ')[0]!;
  const rest = text.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

// "Test vectors": `name = value`, where a value may continue on indented lines.
export function testVectors(): Map<string, string> {
  const body = section('### Test vectors');
  const block = /```\n([\s\S]*?)```/.exec(body);
  if (!block) throw new Error('docs/protocol.md "Test vectors" has no code block');
  const values = new Map<string, string>();
  let last: string | undefined;
  for (const line of block[1]!.split('\n')) {
    const m = /^(\w+) =\s*(.*)$/.exec(line);
    if (m) {
      last = m[1]!;
      values.set(last, m[2]!.trim());
    } else if (last && /^\s+\S/.test(line)) {
      values.set(last, values.get(last)! + line.trim());
    }
  }
  return values;
}

// Fingerprint table rows: "|   0 | 🐶 dog | 🐱 cat | ..." -> [emoji, word] by index.
export function fingerprintTable(): Array<[string, string]> {
  const body = section('### Fingerprint and safety number');
  const entries: Array<[string, string]> = [];
  for (const line of body.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|(.*)\|$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.split('|').map((c) => c.trim());
    if (Number(m[1]) !== entries.length) throw new Error(`fingerprint table row ${m[1]} out of order`);
    for (const cell of cells) {
      const [emoji, word] = cell.split(' ');
      entries.push([emoji!, word!]);
    }
  }
  return entries;
}
