// Opus decoding in the browser with WebCodecs' AudioDecoder: one Opus packet (up to
// 120 ms) in, its 48 kHz mono samples out, in order, tagged with the frame's RTP
// timestamp. Main thread only. Loss concealment is the jitter buffer's (WebCodecs has
// no PLC call).
import type { EncodedFrame } from '../protocol/media/media_packet';
import { OPUS_SAMPLE_RATE } from './opus_encoder';
import { opusPacketSamples } from './opus_packet';

const DECODER_CONFIG: AudioDecoderConfig = { codec: 'opus', sampleRate: OPUS_SAMPLE_RATE, numberOfChannels: 1 };

export class OpusFrameDecoder {
  private decoder: AudioDecoder;
  private readonly pending: number[] = []; // RTP timestamps of frames given, in order
  private chunkTimestampUs = 0;
  failures = 0; // packets the decoder refused (it is then made again)

  private constructor(private readonly onFrame: (timestamp: number, pcm: Float32Array) => void) {
    this.decoder = this.makeDecoder();
  }

  static async create(onFrame: (timestamp: number, pcm: Float32Array) => void): Promise<OpusFrameDecoder> {
    if (typeof AudioDecoder === 'undefined') {
      throw new Error('This browser has no WebCodecs audio decoder, which calls need; use a current Chrome, Edge, ' +
        'Firefox or Safari, on a page opened over https.');
    }
    const support = await AudioDecoder.isConfigSupported(DECODER_CONFIG);
    if (!support.supported) throw new Error('This browser cannot decode Opus audio, which calls need; use a current Chrome, Edge, Firefox or Safari.');
    return new OpusFrameDecoder(onFrame);
  }

  decode(frame: EncodedFrame): void {
    if (this.decoder.state !== 'configured') this.decoder = this.makeDecoder();
    this.pending.push(frame.timestamp);
    // A packet's own length (20 ms, or 120 ms in data saving), so chunk times stay true.
    const durationUs = (opusPacketSamples(frame.payload) || 960) * 1e6 / OPUS_SAMPLE_RATE;
    this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: this.chunkTimestampUs, duration: durationUs,
      data: frame.payload }));
    this.chunkTimestampUs += durationUs;
  }

  close(): void {
    if (this.decoder.state !== 'closed') this.decoder.close();
  }

  private makeDecoder(): AudioDecoder {
    this.pending.length = 0;
    const decoder = new AudioDecoder({
      output: (data) => {
        const timestamp = this.pending.shift();
        const pcm = new Float32Array(data.numberOfFrames);
        // Mono f32 is laid out alike planar or interleaved; anything else is converted.
        if (data.format === 'f32' || data.format === 'f32-planar') data.copyTo(pcm, { planeIndex: 0 });
        else data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
        data.close();
        if (timestamp !== undefined) this.onFrame(timestamp, pcm);
      },
      // A refused packet closes a WebCodecs decoder: count it; the next decode makes a new one.
      error: () => {
        ++this.failures;
      },
    });
    decoder.configure(DECODER_CONFIG);
    return decoder;
  }
}
