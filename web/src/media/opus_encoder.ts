// Opus encoding in the browser with WebCodecs' AudioEncoder: 20 ms frames of 48 kHz
// mono in, one Opus packet per frame out, with the settings the native sender uses
// (24 kbit/s VBR, complexity 9, VoIP, no DTX) and in-band FEC as the loss protection
// asks. Main thread only. No WebAssembly fallback yet: where WebCodecs' Opus is missing,
// create() rejects with a sentence that says so.

export interface OpusEncoderSettings {
  bitrateBps: number;
  complexity: number; // 0..10
  fec: boolean;
  expectedLossPercent: number; // 0..100, what FEC is sized for
}

export const NATIVE_OPUS_SETTINGS: OpusEncoderSettings = { bitrateBps: 24000, complexity: 9, fec: false, expectedLossPercent: 0 };

export const OPUS_SAMPLE_RATE = 48000;
export const OPUS_FRAME_SAMPLES = 960; // 20 ms

// What Chromium accepts beyond the TS DOM typings (the WebCodecs Opus registration).
type OpusConfig = OpusEncoderConfig & { application?: 'voip' | 'audio' | 'lowdelay'; signal?: 'auto' | 'music' | 'voice' };

function encoderConfig(settings: OpusEncoderSettings): AudioEncoderConfig {
  const opus: OpusConfig = {
    format: 'opus', frameDuration: 20000, complexity: settings.complexity, usedtx: false,
    useinbandfec: settings.fec, packetlossperc: settings.fec ? settings.expectedLossPercent : 0,
    application: 'voip', signal: 'voice',
  };
  return { codec: 'opus', sampleRate: OPUS_SAMPLE_RATE, numberOfChannels: 1, bitrate: settings.bitrateBps,
    bitrateMode: 'variable', opus };
}

export class OpusFrameEncoder {
  private readonly encoder: AudioEncoder;
  private timestampUs = 0;
  private settings: OpusEncoderSettings;
  failure: string | undefined; // set when the encoder broke; encode() then does nothing

  private constructor(onPacket: (packet: Uint8Array) => void, settings: OpusEncoderSettings) {
    this.settings = settings;
    this.encoder = new AudioEncoder({
      output: (chunk) => {
        const packet = new Uint8Array(chunk.byteLength);
        chunk.copyTo(packet);
        if (packet.length > 0) onPacket(packet);
      },
      error: (e) => {
        this.failure = `The browser's Opus encoder failed (${e.message}); hang up and call again.`;
      },
    });
    this.encoder.configure(encoderConfig(settings));
  }

  // Rejects with one sentence if this browser cannot encode Opus with WebCodecs.
  static async create(onPacket: (packet: Uint8Array) => void,
    settings: OpusEncoderSettings = NATIVE_OPUS_SETTINGS): Promise<OpusFrameEncoder> {
    if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') {
      throw new Error('This browser has no WebCodecs audio encoder, which calls need; use a current Chrome, Edge, ' +
        'Firefox or Safari, on a page opened over https.');
    }
    const support = await AudioEncoder.isConfigSupported(encoderConfig(settings));
    if (!support.supported) throw new Error('This browser cannot encode Opus audio, which calls need; use a current Chrome, Edge, Firefox or Safari.');
    return new OpusFrameEncoder(onPacket, settings);
  }

  // One 20 ms frame of 48 kHz mono (-1..1).
  encode(frame: Float32Array<ArrayBuffer>): void {
    if (this.failure !== undefined || this.encoder.state !== 'configured') return;
    const data = new AudioData({
      format: 'f32-planar', sampleRate: OPUS_SAMPLE_RATE, numberOfFrames: frame.length, numberOfChannels: 1,
      timestamp: this.timestampUs, data: frame,
    });
    this.timestampUs += (frame.length * 1e6) / OPUS_SAMPLE_RATE;
    this.encoder.encode(data);
    data.close();
  }

  // Turns in-band FEC on or off (takes effect on the following frames).
  setFec(fec: boolean, expectedLossPercent: number): void {
    if (fec === this.settings.fec && expectedLossPercent === this.settings.expectedLossPercent) return;
    this.settings = { ...this.settings, fec, expectedLossPercent };
    if (this.encoder.state === 'configured') this.encoder.configure(encoderConfig(this.settings));
  }

  close(): void {
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}
