// Opus encoding in the browser with WebCodecs' AudioEncoder: frames of 48 kHz mono
// (20, 40, 60 or 120 ms) in, one Opus packet per frame out, with the settings the native
// sender starts from (VBR, complexity 9, VoIP) and what the bitrate controller chooses
// (bitrate, frame length, in-band FEC, DTX). Main thread only. Reconfigurations wait for an
// empty encoder (EncoderSequencer says why). Where WebCodecs' Opus is missing, create()
// rejects with a sentence that says so (browser_call_media.ts then uses wasm_opus.ts).
import { type EncoderStep, EncoderSequencer } from './encoder_sequencer';

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

// A packet out, with the 48 kHz samples it codes (its frame length) and the samples the
// encoder left out just before it (DTX frames WebCodecs does not emit; 0 otherwise).
export type OnOpusPacket = (packet: Uint8Array, frameSamples: number, skippedSamples?: number) => void;

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
  // WebCodecs has no cap on a packet's size; where one is asked for (data saving keeps
  // packets in the 128-byte bucket), a constant bitrate keeps every packet at
  // bitrate x frame (6 kbit/s x 120 ms = 90 bytes), where VBR sent 8 % above the cap
  // (measured on speech_en_male: up to 109 bytes), into the next bucket.
  return { codec: 'opus', sampleRate: OPUS_SAMPLE_RATE, numberOfChannels: 1, bitrate: settings.bitrateBps,
    bitrateMode: settings.maxPacketBytes > 0 ? 'constant' : 'variable', opus };
}

export class OpusFrameEncoder {
  private readonly encoder: AudioEncoder;
  private readonly sequencer = new EncoderSequencer<AudioEncoderConfig>();
  private settings: OpusEncoderSettings;
  private configuredKey = ''; // the last configuration handed to the sequencer, as JSON
  failure: string | undefined; // set when the encoder broke; encode() then does nothing

  private constructor(onPacket: OnOpusPacket, settings: OpusEncoderSettings) {
    this.settings = settings;
    this.encoder = new AudioEncoder({
      output: (chunk) => {
        const samples = chunk.duration ? Math.round((chunk.duration * OPUS_SAMPLE_RATE) / 1e6) : OPUS_FRAME_SAMPLES;
        const out = this.sequencer.output(chunk.timestamp, chunk.duration ?? (samples * 1e6) / OPUS_SAMPLE_RATE,
          performance.now());
        if (out.send) {
          const packet = new Uint8Array(chunk.byteLength);
          chunk.copyTo(packet);
          // The chunk's own duration (the configuration may have changed since it went in).
          if (packet.length > 0) onPacket(packet, samples, out.skippedSamples);
        }
        this.run(out.then);
      },
      error: (e) => {
        this.failure = `The browser's Opus encoder failed (${e.message}); hang up and call again.`;
      },
    });
    this.configureFor(settings.frameMs);
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

  // One frame of 48 kHz mono (-1..1), 20, 40, 60 or 120 ms: the encoder is configured for
  // its length (and the latest settings) before it goes in, so no packet spans two.
  encode(frame: Float32Array<ArrayBuffer>): void {
    if (this.failure !== undefined || this.encoder.state === 'closed') return;
    this.configureFor(Math.round((frame.length * 1000) / OPUS_SAMPLE_RATE));
    this.run(this.sequencer.frame(frame, performance.now()));
  }

  // New settings, from the next frame on (its own length is the frame length).
  apply(change: Partial<OpusEncoderSettings>): void {
    this.settings = { ...this.settings, ...change };
  }

  // Called every 20 ms or so: a reconfiguration that waits on frames DTX left out goes.
  poll(): void {
    this.run(this.sequencer.poll(performance.now()));
  }

  // Packets the encoder delivered out of order and that were dropped (0 expected).
  get droppedPackets(): number {
    return this.sequencer.droppedPackets;
  }

  close(): void {
    if (this.encoder.state !== 'closed') this.encoder.close();
  }

  private configureFor(frameMs: number): void {
    const config = encoderConfig({ ...this.settings, frameMs });
    const key = JSON.stringify(config);
    if (key === this.configuredKey) return;
    this.configuredKey = key;
    this.run(this.sequencer.configure(config, performance.now()));
  }

  private run(steps: EncoderStep<AudioEncoderConfig>[]): void {
    for (const step of steps) {
      if (this.encoder.state === 'closed') return;
      if (step.kind === 'configure') {
        this.encoder.configure(step.config);
        continue;
      }
      const data = new AudioData({
        format: 'f32-planar', sampleRate: OPUS_SAMPLE_RATE, numberOfFrames: step.frame.length, numberOfChannels: 1,
        timestamp: step.timestampUs, data: step.frame,
      });
      this.encoder.encode(data);
      data.close();
    }
  }
}
