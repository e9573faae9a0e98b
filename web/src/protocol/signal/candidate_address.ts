// P2P candidate addresses in signaling: "A.B.C.D:PORT" or "[IPV6]:PORT", numeric,
// unicast, written back in inet_ntop's form. docs/protocol.md, "Direct P2P"; the same
// checks as net::UdpEndpoint::Parse and net::CheckCandidate.

const NOT_NUMERIC = 'is not a numeric address and port such as "203.0.113.7:40000" or "[2001:db8::7]:40000"';

// inet_pton(AF_INET): exactly four decimal parts of 0..255, no leading zeros.
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

// inet_pton(AF_INET6): 8 groups of 1..4 hex digits, one "::", an IPv4 tail allowed.
function parseIpv6(text: string): number[] | undefined {
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return undefined;
  return [...left, ...new Array<number>(8 - known).fill(0), ...right, ...tail];
}

// inet_ntop(AF_INET6): lower case, the longest run (>= 2) of zero groups as "::",
// and "::a.b.c.d" / "::ffff:a.b.c.d" for IPv4-compatible and -mapped forms.
function formatIpv6(w: number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      ++i;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) ++j;
    if (j - i > bestLen) [bestBase, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; ++i) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += `${w[6]! >> 8}.${w[6]! & 255}.${w[7]! >> 8}.${w[7]! & 255}`;
      break;
    }
    out += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

// The canonical text of a candidate, or throws with what is wrong with it (the end of
// "Field 'candidates[i]' of the '…' message …").
export function canonicalCandidate(text: string): string {
  let host: string;
  let port: string;
  const bracketed = text.startsWith('[');
  if (bracketed) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw new Error(NOT_NUMERIC);
    host = text.slice(1, close);
    port = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new Error(NOT_NUMERIC);
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
    if (host.includes(':')) throw new Error(NOT_NUMERIC);
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) throw new Error(NOT_NUMERIC);
  if (host.length === 0 || host.length >= 46) throw new Error(NOT_NUMERIC);
  const portNumber = Number(port);
  if (!bracketed) {
    const a = parseIpv4(host);
    if (!a) throw new Error(NOT_NUMERIC);
    if (a.every((b) => b === 0)) throw new Error('is the unspecified address 0.0.0.0; send a unicast address');
    if ((a[0]! & 0xf0) === 0xe0) throw new Error('is a multicast address; send a unicast address');
    if (a.every((b) => b === 255)) throw new Error('is the broadcast address; send a unicast address');
    if (portNumber === 0) throw new Error('has port 0; send the port the socket is bound to');
    return `${a.join('.')}:${portNumber}`;
  }
  const w = parseIpv6(host);
  if (!w) throw new Error(NOT_NUMERIC);
  if (w.every((g) => g === 0)) throw new Error('is the unspecified address ::; send a unicast address');
  if (w[0]! >> 8 === 0xff) throw new Error('is a multicast address; send a unicast address');
  if (w.slice(0, 5).every((g) => g === 0) && w[5] === 0xffff) {
    throw new Error('is an IPv4-mapped IPv6 address; send the IPv4 address itself');
  }
  if (portNumber === 0) throw new Error('has port 0; send the port the socket is bound to');
  return `[${formatIpv6(w)}]:${portNumber}`;
}
