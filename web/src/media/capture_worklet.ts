// The capture AudioWorklet: the microphone's 128-sample blocks to 20 ms frames of
// 48 kHz mono, posted to the page (which encodes them). Thin: the work is FrameAssembler.
import { FrameAssembler } from './frame_assembler';
import { CAPTURE_PROCESSOR, type CapturedFrame } from './worklet_messages';

// The AudioWorkletGlobalScope, which the DOM typings lack.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly assembler = new FrameAssembler(sampleRate);

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel) {
      for (const pcm of this.assembler.push(channel)) {
        const message: CapturedFrame = { type: 'frame', pcm };
        this.port.postMessage(message, [pcm.buffer]);
      }
    }
    return true;
  }
}

registerProcessor(CAPTURE_PROCESSOR, CaptureProcessor);
