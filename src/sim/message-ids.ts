/**
 * Message ids the simulator hands out: a counter seeded randomly, written as lowercase hex or
 * decimal in submit_sm_resp, and re-written for the receipt the way real SMSCs disagree with
 * themselves (decimal value of a hex id, uppercase zero-padded), so the gateway's id
 * normalisation can be tested.
 */
export type IdFormat = 'hex' | 'dec';
export type ReceiptIdFormat = 'same' | 'dec' | 'upper-padded';

/** Counter seed: 2^32..2^40, so hex ids have 9–11 digits and never reach 16. */
function randomSeed(): number {
  return 0x1_0000_0000 + Math.floor(Math.random() * 0xff_0000_0000);
}

export class MessageIdSource {
  private counter: number;

  constructor(readonly format: IdFormat = 'hex', seed = randomSeed()) {
    this.counter = seed;
  }

  /** The next id as a number (ids stay below 2^53, so numbers are exact). */
  next(): number {
    return this.counter++;
  }

  /** The id as submit_sm_resp carries it. */
  text(n: number): string {
    return this.format === 'hex' ? n.toString(16) : n.toString(10);
  }

  /** The id as a delivery receipt quotes it. */
  receiptText(n: number, how: ReceiptIdFormat): string {
    switch (how) {
      case 'same':
        return this.text(n);
      case 'dec':
        return n.toString(10);
      case 'upper-padded':
        return this.text(n).toUpperCase().padStart(16, '0');
    }
  }
}
