// The media WebSocket's path on the TLS front: the signaling path, "/m/", the ticket and
// the call's relay, each in base64url (docs/protocol.md, "Media over TLS"). Pure.
import { toBase64url } from '../protocol/base64url';
import type { Bytes } from '../protocol/bytes';

// The relay the front is asked to bridge to: the `relay` message's host and port.
export interface MediaTargetRelay {
  host: string; // 1..255 printable ASCII characters (0x21..0x7e), as the server sent it
  port: number; // 1..65535
}

// Host of 1..255 printable ASCII characters and a whole port in 1..65535 (what the
// front accepts; anything else could not be named).
export function isValidMediaTargetRelay(relay: MediaTargetRelay): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(relay.host) && Number.isInteger(relay.port) && relay.port >= 1 &&
    relay.port <= 65535;
}

// websocketPath + "/m/" + base64url(ticket), then "/" + base64url(u16be(port) || host)
// if a relay is given. Throws for a relay that isValidMediaTargetRelay refuses.
export function mediaTargetPath(websocketPath: string, ticket: Bytes, relay?: MediaTargetRelay): string {
  const path = `${websocketPath}/m/${toBase64url(ticket)}`;
  if (relay === undefined) return path;
  if (!isValidMediaTargetRelay(relay)) throw new Error('The relay the server named cannot be reached over TLS.');
  const name = new Uint8Array(2 + relay.host.length);
  name[0] = relay.port >> 8;
  name[1] = relay.port & 0xff;
  for (let i = 0; i < relay.host.length; ++i) name[2 + i] = relay.host.charCodeAt(i);
  return `${path}/${toBase64url(name)}`;
}
