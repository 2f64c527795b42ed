/**
 * A message's text: the user data of a submit_sm/data_sm/deliver_sm (short_message or
 * message_payload, less the UDH), and the text of a concatenated message's parts in order.
 */
import { ESM_CLASS, type MessageView } from './message-view.js';
import { decodeText } from './text.js';

const EMPTY = Buffer.alloc(0);

/** A part's user data: the payload without the UDH when esm_class has UDHI. */
export function userData(view: MessageView): Buffer {
  const p = view.payload;
  if (!(view.esmClass & ESM_CLASS.UDHI)) return p;
  const udhl = p[0];
  if (udhl === undefined || udhl + 1 > p.length) return EMPTY;
  return p.subarray(udhl + 1);
}

/**
 * Text of parts in order. Runs of consecutive seqs with the same data_coding are decoded as one byte
 * string; a gap in seqs (or a change of coding) starts a new run, and a gap is marked with U+FFFD.
 * With `seqs` omitted the views are taken as consecutive parts (or a single message).
 */
export function messageText(views: readonly MessageView[], seqs?: readonly number[]): string {
  let out = '';
  let run: Buffer[] = [];
  let coding = -1;
  let prev = Number.NaN;
  const flush = () => {
    if (run.length > 0) out += decodeText(run.length === 1 ? run[0]! : Buffer.concat(run), coding);
    run = [];
  };
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!;
    const seq = seqs ? seqs[i]! : i + 1;
    const gap = i > 0 && seq !== prev + 1;
    if (gap || v.dataCoding !== coding) flush();
    if (gap) out += '\uFFFD';
    coding = v.dataCoding;
    run.push(userData(v));
    prev = seq;
  }
  flush();
  return out;
}
