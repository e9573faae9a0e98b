// How the client answers parleyd's hello: register, log in or delete the account by
// signing the challenge with the device's identity key. docs/protocol.md, "Accounts
// and sessions"; the same bytes as signal::AuthSignedBytes.
import { type Bytes, concat, utf8 } from '../bytes';
import type { IdentitySigner } from '../crypto/identity_key';
import type { Message, MessageOf } from './messages';

export type AuthPurpose = 'register' | 'login' | 'delete_account';

const LABELS: Record<AuthPurpose, string> = {
  register: 'parley-v1 register',
  login: 'parley-v1 login',
  delete_account: 'parley-v1 delete-account',
};

// label || 0x00 || challenge || lp(user) || lp(device) || lp(server); names longer
// than 255 bytes are cut to 255 (they are refused elsewhere first).
export function authSignedBytes(purpose: AuthPurpose, challenge: Bytes, user: string, device: string,
  server: string): Bytes {
  const lp = (text: string): Bytes => {
    const bytes = utf8(text).subarray(0, 255);
    return concat(Uint8Array.of(bytes.length), bytes);
  };
  return concat(utf8(LABELS[purpose]), Uint8Array.of(0), challenge, lp(user), lp(device), lp(server));
}

// The message answering `hello`. `expectedServer` is the name remembered when the
// account was set up ('' accepts any, for the first contact); a hello naming another
// server is refused, since the name is what the signature binds.
export async function answerHello(hello: MessageOf<'hello'>, purpose: AuthPurpose, expectedServer: string,
  user: string, device: string, identity: IdentitySigner, id?: number): Promise<Message> {
  if (expectedServer !== '' && hello.server !== expectedServer) {
    throw new Error(`The server calls itself '${hello.server}', not '${expectedServer}' as when you signed up; check the address, or sign up again.`);
  }
  const signature = await identity.sign(authSignedBytes(purpose, hello.challenge, user, device, hello.server));
  const tag = id === undefined ? {} : { id };
  switch (purpose) {
    case 'register':
      return { type: 'register', ...tag, user, device, identity_key: identity.publicKey, signature };
    case 'login':
      return { type: 'login', ...tag, user, device, signature };
    case 'delete_account':
      return { type: 'delete_account', ...tag, signature };
  }
}
