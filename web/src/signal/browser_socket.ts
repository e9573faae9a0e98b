// The browser's adapters for SignalingClient: a WebSocket as a SignalSocket, and the
// window's clock and timers. Thin on purpose: all decisions are in signaling_client.ts.
import type { SignalSocket, SocketEvents, SocketFactory, Timers } from './signaling_client';

export const browserSocketFactory: SocketFactory = (url: string, events: SocketEvents): SignalSocket => {
  const socket = new WebSocket(url);
  socket.onopen = () => events.onOpen();
  socket.onmessage = (event: MessageEvent) => {
    // Signaling is text frames only; parleyd never sends binary ones here.
    if (typeof event.data === 'string') events.onText(event.data);
  };
  socket.onclose = (event: CloseEvent) => events.onClose(event.code, event.reason);
  return {
    send: (text) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    },
    close: () => {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
    },
  };
};

export const browserTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (run, ms) => window.setTimeout(run, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
};
