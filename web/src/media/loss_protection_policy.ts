// How the sender protects audio against the loss its peer reports: none, Opus in-band
// FEC, or full copies of the previous two frames. The TS port of
// src/parley/call/loss_protection_policy.cc (same thresholds and hysteresis). Pure.

export interface LossProtection {
  fec: boolean; // Opus in-band FEC
  fecExpectedLossPercent: number;
  redundantDistances: number[]; // older frames repeated in full, distances back (1 = previous)
}

export interface LossProtectionThresholds {
  fecAbove: number;
  copiesAbove: number;
  calmReportsToStepDown: number;
}

const DEFAULT_THRESHOLDS: LossProtectionThresholds = { fecAbove: 0.01, copiesAbove: 0.04, calmReportsToStepDown: 5 };

// Steps up at once when loss rises, down only after several calm reports in a row (each
// one's own loss under the level's threshold).
export class LossProtectionPolicy {
  private level = 0;
  private calmReports = 0;
  private smoothedLoss = 0;
  private currentValue: LossProtection = { fec: false, fecExpectedLossPercent: 0, redundantDistances: [] };

  constructor(private readonly thresholds: LossProtectionThresholds = DEFAULT_THRESHOLDS) {}

  get current(): LossProtection {
    return this.currentValue;
  }

  // A receiver report's loss fraction (0..1, before recovery); returns the protection
  // to use from now on.
  onLossReport(lossFraction: number): LossProtection {
    const loss = Math.min(1, Math.max(0, lossFraction));
    this.smoothedLoss = loss > this.smoothedLoss ? loss : 0.7 * this.smoothedLoss + 0.3 * loss;
    const wanted = this.levelFor(this.smoothedLoss);
    if (wanted > this.level) {
      this.level = wanted;
      this.calmReports = 0;
    } else if (this.levelFor(loss) >= this.level) {
      this.calmReports = 0; // this report still needs the level
    } else if (++this.calmReports >= this.thresholds.calmReportsToStepDown) {
      // Calm is what the reports say (as native): down to what the smoothed loss still
      // asks for.
      this.level = wanted;
      this.calmReports = 0;
    }
    this.currentValue = {
      fec: this.level === 1,
      fecExpectedLossPercent: this.level === 1 ? Math.min(25, Math.max(1, Math.ceil(this.smoothedLoss * 100))) : 0,
      redundantDistances: this.level === 2 ? [1, 2] : [],
    };
    return this.currentValue;
  }

  private levelFor(loss: number): number {
    if (loss > this.thresholds.copiesAbove) return 2;
    if (loss > this.thresholds.fecAbove) return 1;
    return 0;
  }
}
