// Replay protection for packet counters in two phases (check before decryption,
// commit after authentication); RFC 6479 ring of blocks. docs/protocol.md, "Replay".

export type ReplayVerdict = 'new' | 'duplicate' | 'too_old';

const BLOCK_BITS = 64n;

export class ReplayWindow {
  static readonly SIZE = 1024n; // packets: 20 s of 20 ms audio
  private static readonly BLOCKS = ReplayWindow.SIZE / BLOCK_BITS + 1n; // one spare block

  private any = false;
  private highestSeen = 0n;
  private readonly bits: bigint[] = new Array<bigint>(Number(ReplayWindow.BLOCKS)).fill(0n);

  get empty(): boolean {
    return !this.any;
  }
  get highest(): bigint {
    return this.highestSeen;
  }

  check(counter: bigint): ReplayVerdict {
    if (!this.any || counter > this.highestSeen) return 'new';
    if (this.highestSeen - counter >= ReplayWindow.SIZE) return 'too_old';
    const bit = 1n << (counter % BLOCK_BITS);
    return (this.bits[this.block(counter)]! & bit) !== 0n ? 'duplicate' : 'new';
  }

  // Precondition: check(counter) === 'new' and the packet authenticated.
  commit(counter: bigint): void {
    if (this.check(counter) !== 'new') throw new Error('commit only a counter that check accepted');
    if (!this.any || counter > this.highestSeen) {
      const newBlock = counter / BLOCK_BITS;
      const oldBlock = this.highestSeen / BLOCK_BITS;
      if (!this.any || newBlock - oldBlock >= ReplayWindow.BLOCKS) {
        this.bits.fill(0n);
      } else {
        for (let b = oldBlock + 1n; b <= newBlock; ++b) this.bits[Number(b % ReplayWindow.BLOCKS)] = 0n;
      }
      this.highestSeen = counter;
      this.any = true;
    }
    const i = this.block(counter);
    this.bits[i] = this.bits[i]! | (1n << (counter % BLOCK_BITS));
  }

  private block(counter: bigint): number {
    return Number((counter / BLOCK_BITS) % ReplayWindow.BLOCKS);
  }
}
