/**
 * Receipt text (`id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`) at receipt
 * rates: protocol/receipt.ts formatReceiptText builds the part between the id and the text once per
 * (submit minute, done minute, state, err) and later receipts reuse it. Same output as calling
 * formatReceiptText every time (the dates only have minute resolution).
 */
import { formatReceiptText } from '../protocol/receipt.js';

const MINUTE = 60_000;
const MAX_ENTRIES = 256;

/** The last combination seen for one message_state: most receipts in a row share it. */
interface Recent {
  sm: number;
  dm: number;
  err: number;
  middle: string;
}

export class ReceiptTextCache {
  private readonly middles = new Map<string, string>();
  private readonly recent: (Recent | undefined)[] = [];

  text(id: string, submittedAt: number, doneAt: number, state: number, err: number, text: string): string {
    return 'id:' + id + this.middle(submittedAt, doneAt, state, err) + text.slice(0, 20);
  }

  /** " sub:001 dlvrd:… stat:… err:… text:" for this combination. */
  private middle(submittedAt: number, doneAt: number, state: number, err: number): string {
    const sm = Math.floor(submittedAt / MINUTE);
    const dm = Math.floor(doneAt / MINUTE);
    const r = this.recent[state];
    if (r !== undefined && r.sm === sm && r.dm === dm && r.err === err) return r.middle;
    const middle = this.lookup(sm, dm, state, err);
    this.recent[state] = { sm, dm, err, middle };
    return middle;
  }

  private lookup(sm: number, dm: number, state: number, err: number): string {
    const key = `${sm}:${dm}:${state}:${err}`;
    let m = this.middles.get(key);
    if (m === undefined) {
      if (this.middles.size >= MAX_ENTRIES) this.middles.clear();
      const full = formatReceiptText({
        id: '',
        submitted: new Date(sm * MINUTE),
        done: new Date(dm * MINUTE),
        state,
        err,
        text: '',
      });
      m = full.slice('id:'.length);
      this.middles.set(key, m);
    }
    return m;
  }
}
