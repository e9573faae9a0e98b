// What the page learns from parleyd's generated ./config.json (the server name hello
// must carry, the WebSocket path), and the two WebSocket URLs built from it.
import { toBase64url } from '../protocol/base64url';
import type { Bytes } from '../protocol/bytes';
import { type MediaTargetRelay, mediaTargetPath } from '../transport/media_target';

export interface AppConfig {
  server: string; // the name parleyd sends in hello and clients sign
  websocketPath: string; // "/ws/..." on this same host
}

const PROBLEM = 'The server sent a broken config.json; ask its operator to check parleyd, or reload the page.';

// Extra fields (the server may add some) are ignored; missing or malformed ones throw
// PROBLEM with the detail in parentheses.
export function parseAppConfig(text: string): AppConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${PROBLEM} (not JSON)`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${PROBLEM} (not an object)`);
  const record = value as Record<string, unknown>;
  const server = record['server'];
  const path = record['websocket_path'];
  if (typeof server !== 'string' || server.length === 0 || server.length > 255) throw new Error(`${PROBLEM} (no server name)`);
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9_\-./~]{1,255}$/.test(path)) throw new Error(`${PROBLEM} (no usable websocket_path)`);
  return { server, websocketPath: path };
}

// wss://host[:port]/ws/... for signaling, on the host the page came from.
export function signalingUrl(host: string, config: AppConfig): string {
  return `wss://${host}${config.websocketPath}`;
}

// docs/protocol.md, "Media over TLS": the WebSocket path, "/m/", the ticket and the
// call's relay (which the front bridges to), in base64url.
export function mediaSocketUrl(host: string, config: AppConfig, ticket: Bytes, relay?: MediaTargetRelay): string {
  return `wss://${host}${mediaTargetPath(config.websocketPath, ticket, relay)}`;
}

// docs/protocol.md, "Web app and invites": https://host[:port]/<22 base64url characters>/
// on the host this page came from (the server's public name and port).
export function inviteLink(host: string, invite: Bytes): string {
  return `https://${host}/${toBase64url(invite)}/`;
}
