// A SignalSocket for tests: records what the client sends (parsed), and lets the test
// push server messages through the client's events.
import { type Message, parseMessage, serializeMessage } from '../../src/protocol/signal/messages';
import type { SignalSocket, SocketEvents } from '../../src/signal/signaling_client';

export class FakeSocket implements SignalSocket {
  sent: Message[] = [];
  closed = false;
  constructor(readonly url: string, readonly events: SocketEvents) {}
  send(text: string): void {
    this.sent.push(parseMessage(text));
  }
  close(): void {
    this.closed = true;
  }
  push(message: Message): void {
    this.events.onText(serializeMessage(message));
  }
  last(): Message {
    return this.sent[this.sent.length - 1]!;
  }
}
