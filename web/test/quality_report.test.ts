// The quality report (control type 0x04) against the native vectors: same bytes, same
// reading of reserved flags, same refusals; and the saturating conversions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/protocol/bytes';
import {
  type QualityReport, lossUnits, parseQualityReport, saturatedMs, serializeQualityReport,
} from '../src/protocol/call/control_message';

interface QualityVectors {
  report: {
    data_saving: boolean; loss_before_recovery: number; loss_after_recovery: number; jitter_ms: number;
    jitter_buffer_ms: number; queue_delay_ms: number; received_bps: number; interval_ms: number;
  };
  bytes: string;
  reserved_flags_bytes: string;
  invalid: { bytes: string; error: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/native.json', import.meta.url), 'utf8')) as {
  quality_report: QualityVectors;
};

describe('quality report', () => {
  const v = vectors.quality_report;
  const report: QualityReport = {
    dataSaving: v.report.data_saving,
    lossBeforeRecovery: v.report.loss_before_recovery,
    lossAfterRecovery: v.report.loss_after_recovery,
    jitterMs: v.report.jitter_ms,
    jitterBufferMs: v.report.jitter_buffer_ms,
    queueDelayMs: v.report.queue_delay_ms,
    receivedBps: v.report.received_bps,
    intervalMs: v.report.interval_ms,
  };

  it('serializes and parses byte for byte as native', () => {
    expect(toHex(serializeQualityReport(report))).toBe(v.bytes);
    expect(parseQualityReport(fromHex(v.bytes))).toEqual(report);
  });

  it('ignores reserved flag bits', () => {
    expect(parseQualityReport(fromHex(v.reserved_flags_bytes))).toEqual({ ...report, dataSaving: false });
  });

  it('refuses what native refuses, with the same sentence', () => {
    for (const bad of v.invalid) expect(() => parseQualityReport(fromHex(bad.bytes)), bad.bytes).toThrow(bad.error);
  });

  it('saturates like native', () => {
    expect(lossUnits(-1)).toBe(0);
    expect(lossUnits(Number.NaN)).toBe(0);
    expect(lossUnits(0.1234)).toBe(1234);
    expect(lossUnits(3)).toBe(10000);
    expect(saturatedMs(12.6)).toBe(13);
    expect(saturatedMs(1e9)).toBe(65535);
  });
});
