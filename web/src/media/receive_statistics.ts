// Loss as the receiver sees it, per report interval: how many media packets the
// sequence numbers say were sent and how many distinct ones arrived. The TS port of
// src/parley/call/receive_statistics.cc (RFC 3550 A.3, simplified). Pure.

export interface LossReport {
  expected: number; // less the packets missing across an outage (below)
  received: number;
}

// No packet for this long, then a jump in sequence numbers: the packets skipped went
// missing in an outage, which is for path recovery, not loss protection (protocol.md,
// receiver report `expected`).
export const OUTAGE_GAP_MS = 1000;

export function lossFraction(report: LossReport): number {
  return report.expected === 0 ? 0 : 1 - report.received / report.expected;
}

// A late packet of an earlier interval counts in the interval it arrives in.
export class ReceiveStatistics {
  private highest: number | undefined; // unwrapped
  private intervalBase = 0;
  private receivedInInterval = 0;
  private recentSeen = 0n; // bit i: highest - i arrived; duplicates within 64
  private outagePacketsInInterval = 0;
  private lastArrivalMs: number | undefined;

  onPacket(sequence: number, arrivalMs: number): void {
    sequence &= 0xffff;
    const afterOutage = this.lastArrivalMs !== undefined && arrivalMs - this.lastArrivalMs >= OUTAGE_GAP_MS;
    this.lastArrivalMs = arrivalMs;
    if (this.highest === undefined) {
      this.highest = sequence;
      this.intervalBase = sequence - 1;
      this.recentSeen = 1n;
      ++this.receivedInInterval;
      return;
    }
    // The nearest value with these low 16 bits.
    const delta = (((sequence - (this.highest & 0xffff)) & 0xffff) << 16) >> 16;
    if (delta > 0) {
      if (afterOutage) this.outagePacketsInInterval += delta - 1;
      this.recentSeen = delta >= 64 ? 0n : BigInt.asUintN(64, this.recentSeen << BigInt(delta));
      this.recentSeen |= 1n;
      this.highest += delta;
    } else {
      const age = -delta;
      if (age >= 64) return; // too old to tell from a duplicate
      const bit = 1n << BigInt(age);
      if ((this.recentSeen & bit) !== 0n) return; // duplicate
      this.recentSeen |= bit;
    }
    ++this.receivedInInterval;
  }

  // The figures since the last call, and starts a new interval.
  takeInterval(): LossReport {
    const report: LossReport = { expected: 0, received: 0 };
    if (this.highest !== undefined) {
      report.expected = Math.max(0, this.highest - this.intervalBase - this.outagePacketsInInterval);
      report.received = this.receivedInInterval;
      if (report.received > report.expected) report.expected = report.received; // late arrivals
      this.intervalBase = this.highest;
    }
    this.receivedInInterval = 0;
    this.outagePacketsInInterval = 0;
    return report;
  }
}
