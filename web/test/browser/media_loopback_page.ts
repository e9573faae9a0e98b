// The media loopback check's page: signs up at a real parleyd, asks for a path-test
// call (both tickets of one relay call), and runs two BrowserCallMedia through the
// web front's media WebSockets and the relay: the fake microphone into one, what the
// other plays out recorded. Exposes window.loopback for media_loopback.mjs.
import { toBase64url } from '../../src/protocol/base64url';
import { deriveCallKeys } from '../../src/protocol/crypto/call_keys';
import { SeedIdentityKey } from '../../src/protocol/crypto/identity_key';
import { answerHello } from '../../src/protocol/signal/client_auth';
import { type Message, type MessageOf, parseMessage, serializeMessage } from '../../src/protocol/signal/messages';
import { loadSodium, sodium } from '../../src/protocol/sodium';
import { BrowserCallMedia, type CallQuality, type OpusImplementation, type RelayMessage } from '../../src/media/browser_call_media';

interface LoopbackResult {
  recording: number[];
  sender: CallQuality;
  receiver: CallQuality;
  receiverPlayout: unknown;
  opus: string;
}

function nextMessage(socket: WebSocket, type: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent<unknown>): void => {
      if (typeof event.data !== 'string') return;
      const m = parseMessage(event.data);
      if (m.type === 'error') reject(new Error(`server error: ${m.message}`));
      if (m.type !== type) return;
      socket.removeEventListener('message', onMessage);
      resolve(m);
    };
    socket.addEventListener('message', onMessage);
    socket.addEventListener('close', () => reject(new Error('signaling closed')));
  });
}

async function run(host: string, websocketPath: string, seconds: number, opus: OpusImplementation): Promise<LoopbackResult> {
  await loadSodium();
  const socket = new WebSocket(`wss://${host}${websocketPath}`);
  const hello = nextMessage(socket, 'hello');
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error('signaling did not open'));
  });
  const identity = SeedIdentityKey.fromSeed(sodium().randombytes_buf(32));
  const user = `w${Math.floor(Math.random() * 1e9)}`;
  const welcome = nextMessage(socket, 'welcome');
  socket.send(serializeMessage(await answerHello((await hello) as MessageOf<'hello'>, 'register', '', user, 'web', identity)));
  await welcome;
  const ticketsReply = nextMessage(socket, 'path_test_tickets');
  socket.send(serializeMessage({ type: 'path_test' }));
  const t = (await ticketsReply) as MessageOf<'path_test_tickets'>;

  const prk = sodium().randombytes_buf(32);
  const context = new AudioContext({ sampleRate: 48000 });
  const microphone = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const silent = context.createMediaStreamDestination().stream;
  const relay = (ticket: Uint8Array, hopKey: Uint8Array): RelayMessage => ({
    type: 'relay', call_id: t.call_id, host: t.host, port: t.port, ticket, p2p: false, hop_key: hopKey,
    bind_key: t.bind_key,
  });
  const url = (ticket: Uint8Array): string => `wss://${host}${websocketPath}/m/${toBase64url(ticket)}`;
  const sender = await BrowserCallMedia.start({
    mediaSocketUrl: url(t.ticket_0), relay: relay(t.ticket_0, t.hop_key_0), callKeys: deriveCallKeys(prk, 'caller'),
    isCaller: true, microphone, audioContext: context, opus,
  });
  const receiver = await BrowserCallMedia.start({
    mediaSocketUrl: url(t.ticket_1), relay: relay(t.ticket_1, t.hop_key_1), callKeys: deriveCallKeys(prk, 'callee'),
    isCaller: false, microphone: silent, audioContext: context, opus,
  });
  receiver.startRecording();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const recording = receiver.takeRecording();
  const result = {
    recording: Array.from(recording), sender: sender.quality(), receiver: receiver.quality(),
    receiverPlayout: receiver.playoutDetails(), opus: `${sender.opusImplementation}/${receiver.opusImplementation}`,
  };
  sender.stop();
  receiver.stop();
  socket.close();
  await context.close();
  return result;
}

(window as unknown as { loopback: typeof run }).loopback = run;
