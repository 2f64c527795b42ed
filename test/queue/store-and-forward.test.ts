/**
 * Store-and-forward under load: the SMSC simulator drops its links and refuses binds for 30 s while
 * an ESME keeps sending to ten recipients. Every submit is answered ESME_ROK (forwarded, or queued
 * with a gateway id); after the SMSC returns every message arrives, in order per recipient.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

const OUTAGE_MS = 30_000;
const RECIPIENTS = 10;

describe('store-and-forward', () => {
  it('the SMSC drops its links for 30 s under load: everything accepted arrives afterwards, in order per recipient', async () => {
    stack = await startStack({
      sim: { record: true, receiptDelayMs: 10 },
      cfg: (c) => {
        c.accounts[0]!.queue.store_and_forward = ['no_bind', 'timeout', 0x58, 0x14, 0x08];
        c.accounts[0]!.window = 500;
        c.queue.retry_initial_ms = 100;
      },
    });
    const s = stack;
    const esme = await s.esme('transmitter');
    let sent = 0;
    const answers: Promise<{ status: number; messageId: string }>[] = [];
    const sendOne = () => {
      const n = sent++;
      const r = n % RECIPIENTS;
      answers.push(
        esme.submit(sm({ destination_addr: `86138000000${String(r).padStart(2, '0')}`, short_message: `r${r} n${String(n).padStart(6, '0')}` })),
      );
    };
    // ~200 msg/s for 2 s, the outage, and 2 s after it.
    const loadFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        for (let i = 0; i < 2; i++) sendOne();
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await loadFor(2000);
    s.sim.dropLinks({ refuseMs: OUTAGE_MS });
    await loadFor(OUTAGE_MS + 2000);
    const results = await Promise.all(answers);
    const refused = results.filter((r) => r.status !== 0).length;
    const queued = results.filter((r) => r.status === 0 && r.messageId.startsWith('Q')).length;

    const texts = () =>
      s.sim.received.map((p) => {
        const v = MessageView.parse(p);
        return isScanError(v) ? '' : v.shortMessage.toString('latin1');
      });
    await waitFor(() => new Set(texts()).size >= sent, 30_000, 'every accepted message at the SMSC');
    const arrivals = texts();
    const distinct = new Set(arrivals).size;
    // Order per recipient: first arrivals of each recipient's messages come in sending order.
    const lastSeen = new Map<string, number>();
    const seen = new Set<string>();
    let outOfOrder = 0;
    for (const t of arrivals) {
      if (seen.has(t)) continue;
      seen.add(t);
      const [r, n] = t.split(' ') as [string, string];
      if ((lastSeen.get(r) ?? -1) > Number(n.slice(1))) outOfOrder++;
      lastSeen.set(r, Number(n.slice(1)));
    }
    console.log(
      `store-and-forward: sent ${sent}, refused ${refused}, queued ${queued}, arrived ${distinct} distinct ` +
        `(${arrivals.length - distinct} duplicates), out of order per recipient ${outOfOrder}`,
    );
    expect(refused).toBe(0);
    expect(queued).toBeGreaterThan(OUTAGE_MS / 10); // the outage's traffic went into the queue
    expect(distinct).toBe(sent);
    expect(outOfOrder).toBe(0);
    // A message reaches the SMSC before its answer takes it off the account's books: wait for the last answers.
    let depth = -1;
    for (const end = Date.now() + 5000; Date.now() < end; await new Promise((res) => setTimeout(res, 50))) {
      depth = await s.gw.queue!.store.depth('esme');
      if (depth === 0) break;
    }
    expect(depth).toBe(0);
  }, 90_000);
});
