// Pure presentation logic of the app: the words of each call state, the call timer,
// the live quality line and call history rows. No DOM, so Vitest checks it in node.
import type { CallRecord } from '../protocol/signal/messages';
import type { CallState } from '../signal/browser_call_session';

// What BrowserCallMedia.quality() reports (web/src/media/browser_call_media.ts, W3);
// repeated here structurally so the view does not depend on the media module.
export interface CallQuality {
  path: string; // 'relay-tls'
  connected: boolean;
  rttMs?: number;
  lossPercent: number;
  jitterBufferMs: number;
  sendKbps: number;
  receiveKbps: number;
}

export type CallPhase = 'calling' | 'ringing' | 'incoming' | 'key approval' | 'connecting' | 'in call' | 'ended';

export function phaseOf(state: CallState): CallPhase {
  switch (state) {
    case 'idle': return 'ended';
    case 'inviting':
    case 'offering': return 'calling';
    case 'ringing': return 'ringing';
    case 'incoming': return 'incoming';
    case 'awaiting_approval': return 'key approval';
    case 'connecting': return 'connecting';
    case 'connected': return 'in call';
  }
}

// "1:05", "12:00", "1:02:03".
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// The text of data-testid="call-state": it always contains the phase word ('calling',
// 'ringing', 'connecting', 'in call', 'ended'), which the end-to-end test looks for.
export function callStateText(phase: CallPhase, peer: string, sinceMs: number | undefined, now: number,
  endedSentence = ''): string {
  switch (phase) {
    case 'calling': return 'calling…';
    case 'ringing': return 'ringing…';
    case 'incoming': return `ringing: ${peer} is calling`;
    case 'key approval': return `connecting: waiting for you to approve ${peer}'s new key`;
    case 'connecting': return 'connecting…';
    case 'in call': return `in call ${formatDuration(sinceMs === undefined ? 0 : now - sinceMs)}`;
    case 'ended': return endedSentence === '' ? 'ended' : `ended: ${endedSentence}`;
  }
}

// "relay-tls · RTT 42 ms · loss 0.5 % · buffer 60 ms · ↑ 24 ↓ 23 kbit/s"
export function qualityText(q: CallQuality | null): string {
  if (!q) return 'starting audio…';
  if (!q.connected) return `${q.path} · connecting to the relay…`;
  const rtt = q.rttMs === undefined ? 'RTT –' : `RTT ${Math.round(q.rttMs)} ms`;
  const loss = `loss ${q.lossPercent < 10 ? q.lossPercent.toFixed(1) : Math.round(q.lossPercent)} %`;
  return `${q.path} · ${rtt} · ${loss} · buffer ${Math.round(q.jitterBufferMs)} ms · ↑ ${Math.round(q.sendKbps)} ↓ ${Math.round(q.receiveKbps)} kbit/s`;
}

// A coarse verdict for the colour of the quality line.
export function qualityLevel(q: CallQuality | null): 'good' | 'fair' | 'poor' | 'unknown' {
  if (!q || !q.connected) return 'unknown';
  if (q.lossPercent > 10 || (q.rttMs ?? 0) > 600) return 'poor';
  if (q.lossPercent > 3 || (q.rttMs ?? 0) > 300) return 'fair';
  return 'good';
}

export interface HistoryRow {
  peer: string;
  direction: 'outgoing' | 'incoming';
  outcome: string; // 'answered', 'missed', ...
  when: string; // "2026-11-29 04:10" in local time
  duration: string; // "1:05" for answered calls, else ''
}

export function historyRow(record: CallRecord, me: string, timeZoneOffsetMinutes = new Date().getTimezoneOffset()): HistoryRow {
  const outgoing = record.caller === me;
  const local = new Date(record.started_unix_ms - timeZoneOffsetMinutes * 60000);
  const when = local.toISOString().slice(0, 16).replace('T', ' ');
  const answered = record.outcome === 'answered' && record.answered_unix_ms > 0;
  return {
    peer: outgoing ? record.callee : record.caller,
    direction: outgoing ? 'outgoing' : 'incoming',
    outcome: record.outcome,
    when,
    duration: answered ? formatDuration(record.ended_unix_ms - record.answered_unix_ms) : '',
  };
}

export function historyText(row: HistoryRow): string {
  const arrow = row.direction === 'outgoing' ? '↗' : '↙';
  return [`${arrow} ${row.peer}`, row.outcome, row.duration, row.when].filter((s) => s !== '').join(' · ');
}
