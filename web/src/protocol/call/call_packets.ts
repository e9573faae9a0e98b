// One call's packet protection as both clients apply it: media and control streams
// under their own keys and counters, indistinguishable on the wire; an arriving
// packet is tried as media first, then as control. docs/protocol.md, "In-call control
// messages" (Carriage). Pure: the caller gives the time; not shared between calls.
import type { Bytes } from '../bytes';
import type { CallKeys } from '../crypto/call_keys';
import { PacketOpener } from '../crypto/packet_opener';
import { PacketSealer } from '../crypto/packet_sealer';
import type { PaddingPolicy } from '../crypto/padding_policy';
import { type MediaPacket, parseMediaPacket, serializeMediaPacket } from '../media/media_packet';
import {
  PROBE_REPLY_TYPE, PROBE_TYPE, type Probe, type ProbeReply, RECEIVER_REPORT_TYPE, type ReceiverReport, parseProbe,
  parseProbeReply, parseReceiverReport, serializeProbe, serializeProbeReply, serializeReceiverReport,
} from './control_message';

export type Arrival =
  | { kind: 'media'; packet: MediaPacket; counter: bigint }
  | { kind: 'report'; report: ReceiverReport }
  | { kind: 'probe'; probe: Probe } // answer at once, on the path it arrived on
  | { kind: 'probe_reply'; reply: ProbeReply }
  | { kind: 'control'; content: Bytes } // an authenticated control message of a type this side does not know
  | { kind: 'dropped'; reason: string }; // opened by neither stream, or unparseable: nothing changed but replay state

export class CallPackets {
  private readonly mediaSealer: PacketSealer;
  private readonly controlSealer: PacketSealer;
  private readonly mediaOpener: PacketOpener;
  private readonly controlOpener: PacketOpener;

  constructor(keys: CallKeys, nowMs: number, padding: PaddingPolicy = { mode: 'buckets' }) {
    this.mediaSealer = new PacketSealer(keys.media.send, nowMs, padding);
    this.controlSealer = new PacketSealer(keys.control.send, nowMs, padding);
    this.mediaOpener = new PacketOpener(keys.media.receive);
    this.controlOpener = new PacketOpener(keys.control.receive);
  }

  // `minSealedSize`: padded to at least this (PacketSealer.seal), while a probe runs.
  sealMedia(packet: MediaPacket, nowMs: number, minSealedSize = 0): Bytes {
    return this.mediaSealer.seal(serializeMediaPacket(packet), nowMs, minSealedSize);
  }

  sealReport(report: ReceiverReport, nowMs: number): Bytes {
    return this.controlSealer.seal(serializeReceiverReport(report), nowMs);
  }

  sealProbe(probe: Probe, nowMs: number): Bytes {
    return this.controlSealer.seal(serializeProbe(probe), nowMs);
  }

  sealProbeReply(reply: ProbeReply, nowMs: number): Bytes {
    return this.controlSealer.seal(serializeProbeReply(reply), nowMs);
  }

  // Control messages of any other type, as content bytes.
  sealControl(content: Bytes, nowMs: number): Bytes {
    return this.controlSealer.seal(content, nowMs);
  }

  open(sealed: Bytes): Arrival {
    let media;
    try {
      media = this.mediaOpener.open(sealed);
    } catch (e) {
      return this.openControl(sealed, (e as Error).message);
    }
    try {
      return { kind: 'media', packet: parseMediaPacket(media.content), counter: media.counter };
    } catch (e) {
      return { kind: 'dropped', reason: (e as Error).message };
    }
  }

  // `mediaError`: why the media opener refused it, the reason given if control does too.
  private openControl(sealed: Bytes, mediaError: string): Arrival {
    let content: Bytes;
    try {
      content = this.controlOpener.open(sealed).content;
    } catch {
      return { kind: 'dropped', reason: mediaError };
    }
    try {
      switch (content[0]) {
        case RECEIVER_REPORT_TYPE:
          return { kind: 'report', report: parseReceiverReport(content) };
        case PROBE_TYPE:
          return { kind: 'probe', probe: parseProbe(content) };
        case PROBE_REPLY_TYPE:
          return { kind: 'probe_reply', reply: parseProbeReply(content) };
        default:
          return { kind: 'control', content };
      }
    } catch (e) {
      return { kind: 'dropped', reason: (e as Error).message };
    }
  }
}
