// The sentences a call ends with and the device-name rule, exactly as the native
// client has them (signal::DescribeEnd, ValidateDeviceName; docs/protocol.md, "Encoding").
import type { END_REASONS } from '../protocol/signal/messages';

export function describeEnd(reason: (typeof END_REASONS)[number], peer: string): string {
  switch (reason) {
    case 'not_found': return `${peer} cannot be called: there is no such user, or they do not take calls from you.`;
    case 'busy': return `${peer} is busy in another call; try again later.`;
    case 'unavailable': return `${peer} is not online right now.`;
    case 'declined': return `${peer} declined the call.`;
    case 'cancelled': return `${peer} cancelled the call.`;
    case 'hangup': return `${peer} hung up (or lost the connection).`;
    case 'timeout': return `The call with ${peer} was not answered in time.`;
    case 'rate_limited': return 'You started too many calls in a short time; wait a minute and try again.';
    case 'failed': return `The server could not set up the call with ${peer}; try again later.`;
  }
}

// 1 to 32 characters of A-Z a-z 0-9 _ . -
export function validDeviceName(device: string): boolean {
  return /^[A-Za-z0-9_.-]{1,32}$/.test(device);
}

// 3 to 32 characters of a-z 0-9 _ . -, starting with a letter, no "..". The server
// also refuses reserved names; this check only catches typing mistakes early.
export function usernameProblem(user: string): string | undefined {
  if (!/^[a-z][a-z0-9_.-]{2,31}$/.test(user) || user.includes('..')) {
    return 'A username is 3 to 32 characters of a-z, 0-9, _ . and -, starting with a letter; choose another.';
  }
  return undefined;
}
