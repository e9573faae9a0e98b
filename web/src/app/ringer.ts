// The ring of an incoming call: a soft two-tone burble (2 s on, 4 s off) from its own
// AudioContext. Browsers play it only if the page has had a user gesture; otherwise
// it stays silent and the screen (and vibration on phones) must do.

const PATTERN_S = 6; // one ring cycle
const RING_S = 2; // of which this much sounds

export class Ringer {
  private context: AudioContext | undefined;

  start(): void {
    if (this.context || typeof AudioContext === 'undefined') return;
    let context: AudioContext;
    try {
      context = new AudioContext();
    } catch {
      return;
    }
    this.context = context;
    const gain = context.createGain();
    gain.gain.value = 0;
    gain.connect(context.destination);
    for (const frequency of [440, 480]) {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start();
    }
    // Schedule a few minutes of cycles (the server's ring timeout is 45 s).
    const t0 = context.currentTime + 0.05;
    for (let i = 0; i < 30; ++i) {
      const at = t0 + i * PATTERN_S;
      gain.gain.setValueAtTime(0.08, at);
      gain.gain.setValueAtTime(0, at + RING_S);
    }
    void context.resume().catch(() => undefined);
  }

  stop(): void {
    void this.context?.close().catch(() => undefined);
    this.context = undefined;
  }
}
