/**
 * Message ids the simulator hands out: a counter seeded randomly, written as lowercase hex or
 * decimal in submit_sm_resp, and re-written for the receipt the way real SMSCs disagree with
 * themselves (decimal value of a hex id, uppercase zero-padded), so the gateway's id
 * normalisation can be tested.
 *
 * Number#toString(16) on values above 2^32 costs ~0.5 µs (V8's radix conversion of a double);
 * at benchmark rates that was a tenth of the simulator's CPU. Ids are written instead as the
 * cached text of n / 16^4 (or n / 10^5) followed by a table lookup for the low digits.
 */
export type IdFormat = 'hex' | 'dec';
export type ReceiptIdFormat = 'same' | 'dec' | 'upper-padded';

/** Counter seed: 2^32..2^40, so hex ids have 9–11 digits and never reach 16. */
function randomSeed(): number {
  return 0x1_0000_0000 + Math.floor(Math.random() * 0xff_0000_0000);
}

/** Formats non-negative integers below 2^53 in one radix, fast for slowly increasing values. */
class CounterFormatter {
  private readonly low: string[];
  private readonly span: number;
  private hi = -1;
  private hiText = '';

  constructor(private readonly radix: 10 | 16) {
    const digits = radix === 16 ? 4 : 5;
    this.span = radix ** digits;
    this.low = Array.from({ length: this.span }, (_, i) => i.toString(radix).padStart(digits, '0'));
  }

  format(n: number): string {
    if (n < this.span) return n.toString(this.radix);
    const hi = Math.floor(n / this.span);
    if (hi !== this.hi) {
      this.hi = hi;
      this.hiText = hi.toString(this.radix);
    }
    return this.hiText + this.low[n - hi * this.span]!;
  }
}

let hexFormatter: CounterFormatter | null = null;
let decFormatter: CounterFormatter | null = null;
const hex = () => (hexFormatter ??= new CounterFormatter(16));
const dec = () => (decFormatter ??= new CounterFormatter(10));

export class MessageIdSource {
  private counter: number;
  private readonly formatter: CounterFormatter;

  constructor(readonly format: IdFormat = 'hex', seed = randomSeed()) {
    this.counter = seed;
    this.formatter = format === 'hex' ? hex() : dec();
  }

  /** The next id as a number (ids stay below 2^53, so numbers are exact). */
  next(): number {
    return this.counter++;
  }

  /** The id as submit_sm_resp carries it. */
  text(n: number): string {
    return this.formatter.format(n);
  }

  /** The id as a delivery receipt quotes it. */
  receiptText(n: number, how: ReceiptIdFormat): string {
    switch (how) {
      case 'same':
        return this.text(n);
      case 'dec':
        return dec().format(n);
      case 'upper-padded':
        return this.text(n).toUpperCase().padStart(16, '0');
    }
  }
}
