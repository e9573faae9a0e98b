// Opus encoding in the browser with WebCodecs' AudioEncoder: frames of 48 kHz mono
// (20, 40, 60 or 120 ms) in, one Opus packet per frame out, with the settings the native
// sender starts from (VBR, complexity 9, VoIP) and what the bitrate controller chooses
// (bitrate, frame length, in-band FEC, DTX). Main thread only. No WebAssembly fallback yet: where WebCodecs' Opus is missing,
// create() rejects with a sentence that says so.

export interface OpusEncoderSettings {
  bitrateBps: number;
  complexity: number; // 0..10
  fec: boolean;
  expectedLossPercent: number; // 0..100, what FEC is sized for
  frameMs: number; // 20, 40, 60 or 120: the length of the frames encode() takes
  dtx: boolean; // silence sends (almost) nothing
  maxPacketBytes: number; // cap on one packet (0: none); WebCodecs has no such setting
}

export const NATIVE_OPUS_SETTINGS: OpusEncoderSettings = {
  bitrateBps: 24000, complexity: 9, fec: false, expectedLossPercent: 0, frameMs: 20, dtx: false, maxPacketBytes: 0,
};

// A packet out, with the 48 kHz samples it codes (its frame length).
export type OnOpusPacket = (packet: Uint8Array, frameSamples: number) => void;

// A packet this short is a DTX frame (libopus codes silence in 1-2 bytes): not worth sending.
export const DTX_PACKET_MAX_BYTES = 2;

export const OPUS_SAMPLE_RATE = 48000;
export const OPUS_FRAME_SAMPLES = 960; // 20 ms

// What Chromium accepts beyond the TS DOM typings (the WebCodecs Opus registration).
type OpusConfig = OpusEncoderConfig & { application?: 'voip' | 'audio' | 'lowdelay'; signal?: 'auto' | 'music' | 'voice' };

function encoderConfig(settings: OpusEncoderSettings): AudioEncoderConfig {
  const opus: OpusConfig = {
    format: 'opus', frameDuration: settings.frameMs * 1000, complexity: settings.complexity, usedtx: settings.dtx,
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

  private constructor(onPacket: OnOpusPacket, settings: OpusEncoderSettings) {
    this.settings = settings;
    this.encoder = new AudioEncoder({
      output: (chunk) => {
        const packet = new Uint8Array(chunk.byteLength);
        chunk.copyTo(packet);
        // The chunk's own duration (the configuration may have changed since it went in).
        const samples = chunk.duration ? Math.round((chunk.duration * OPUS_SAMPLE_RATE) / 1e6) : OPUS_FRAME_SAMPLES;
        if (packet.length > 0) onPacket(packet, samples);
      },
      error: (e) => {
        this.failure = `The browser's Opus encoder failed (${e.message}); hang up and call again.`;
      },
    });
    this.encoder.configure(encoderConfig(settings));
  }

  // Rejects with one sentence if this browser cannot encode Opus with WebCodecs.
  static async create(onPacket: OnOpusPacket,
    settings: OpusEncoderSettings = NATIVE_OPUS_SETTINGS): Promise<OpusFrameEncoder> {
    if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') {
      throw new Error('This browser has no WebCodecs audio encoder, which calls need; use a current Chrome, Edge, ' +
        'Firefox or Safari, on a page opened over https.');
    }
    const support = await AudioEncoder.isConfigSupported(encoderConfig(settings));
    if (!support.supported) throw new Error('This browser cannot encode Opus audio, which calls need; use a current Chrome, Edge, Firefox or Safari.');
    return new OpusFrameEncoder(onPacket, settings);
  }

  // One frame of 48 kHz mono (-1..1), settings.frameMs long.
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

  // New settings for the following frames (a reconfiguration only when something changed).
  apply(change: Partial<OpusEncoderSettings>): void {
    const next = { ...this.settings, ...change };
    if (next.bitrateBps === this.settings.bitrateBps && next.fec === this.settings.fec &&
      next.expectedLossPercent === this.settings.expectedLossPercent && next.frameMs === this.settings.frameMs &&
      next.dtx === this.settings.dtx && next.complexity === this.settings.complexity) {
      this.settings = next;
      return;
    }
    this.settings = next;
    if (this.encoder.state === 'configured') this.encoder.configure(encoderConfig(this.settings));
  }

  close(): void {
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}
