/**
 * Bounded Redis: a held receipt the ESME refuses every time moves to the account's dead-letter list
 * after receipts.dead_letter_after refusals (counted in smppguard_dead_letters_total), and the
 * receipts held behind it are then delivered; the admin plugin (admin/dead-letters-api.ts) lists
 * it and retries it (back to the held list, delivered to the receiver). Real Redis (held store),
 * a real ESME session and relay over in-memory links, a manual clock for the retry delay.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLettersApi } from '../../src/admin/dead-letters-api.js';
import { adminScope } from '../../src/admin/scope.js';
import { Command } from '../../src/protocol/commands.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { receiptMessageId } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import type { Clock } from '../../src/session/clock.js';
import { HeldDeliveries } from '../../src/store/held-deliveries.js';
import { valueOf, head, silentLog } from '../helpers/fake-link.js';
import { deliverResp, receiptPdu } from '../helpers/pdus.js';
import { waitFor } from '../helpers/stack.js';
import { sha256, TOKENS } from '../helpers/admin.js';
import { relayRig } from '../relay/helpers.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:bounds:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379');

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

const idOf = (pdu: Buffer): string => {
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(v.reason);
  return receiptMessageId(v.tlvs, v.shortMessage) ?? '';
};

describe('a held receipt the ESME always refuses', () => {
  it('moves to the dead-letter list after dead_letter_after refusals, and the receipts behind it are delivered; the admin API lists and retries it', async () => {
    let clock: Clock | null = null;
    const held = new HeldDeliveries(redis, PREFIX, { ttlMs: 3_600_000, maxPerAccount: 100, deadLetterAfter: 3 }, null, () => clock!.now());
    const r = await relayRig({ deps: { held, heldRetryMs: 1000 } });
    clock = r.clock;
    for (const id of ['POISON', 'R2', 'R3']) await held.hold('esme', receiptPdu(1, id));

    // The ESME: refuses POISON every time, takes everything else.
    const { peer } = await r.esme('receiver');
    const offered: string[] = [];
    const taken = new Set<string>();
    let refuse = true;
    const answering = setInterval(() => {
      for (const p of peer.take()) {
        if (head(p).command !== Command.deliver_sm) continue;
        const id = idOf(p);
        offered.push(id);
        const no = id === 'POISON' && refuse;
        if (!no) taken.add(id);
        peer.send(deliverResp(head(p).sequence, no ? Status.ESME_RX_T_APPN : 0));
      }
    }, 2);
    try {
      const refusedTimes = () => offered.filter((id) => id === 'POISON').length;
      for (let n = 1; n <= 2; n++) {
        await waitFor(() => refusedTimes() === n, 2000, `refusal ${n}`);
        // Wait until the refusal is stored, then let the retry delay pass.
        await expect.poll(async () => (await held.peek('esme', 1))[0]?.refusals, { timeout: 2000, interval: 5 }).toBe(n);
        expect(taken.has('R2')).toBe(true); // offered, but not trimmed: POISON is in front of it
        expect(await held.count('esme')).toBe(3);
        r.clock.advance(1000);
      }
      await waitFor(() => refusedTimes() === 3, 2000, 'refusal 3');
      await expect.poll(() => held.count('esme'), { timeout: 2000, interval: 5 }).toBe(0);
      const dead = await held.listDead('esme', 10);
      expect(dead.map((d) => [idOf(d.pdu), d.refusals, d.lastStatus])).toEqual([['POISON', 3, Status.ESME_RX_T_APPN]]);
      expect(await valueOf(r.metrics.deadLetters, { account: 'esme' })).toBe(1);
      expect([...taken].sort()).toEqual(['R2', 'R3']);

      // Receipts held later are no longer blocked.
      await held.hold('esme', receiptPdu(2, 'R4'));
      r.relay.onHeldElsewhere('esme');
      await waitFor(() => taken.has('R4'), 2000, 'R4 delivered');

      // The admin API lists it and retries it; this time the ESME takes it.
      const app = Fastify({ logger: false });
      const announced: string[] = [];
      await app.register(
        async (api) => {
          adminScope(api, [{ name: 'ops', sha256: sha256(TOKENS.ops) }]);
          await api.register(deadLettersApi, {
            held,
            accounts: new Set(['esme']),
            announceHeld: (a) => (announced.push(a), r.relay.onHeldElsewhere(a)),
            log: silentLog(),
          });
        },
        { prefix: '/api/v1' },
      );
      const auth = { authorization: `Bearer ${TOKENS.ops}` };
      const list = await app.inject({ method: 'GET', url: '/api/v1/dead-letters/esme', headers: auth });
      expect(list.statusCode).toBe(200);
      const body = list.json();
      expect(body).toMatchObject({ account: 'esme', count: 1, dead_letters: [{ kind: 'receipt', message_id: 'POISON', refusals: 3, last_status: Status.ESME_RX_T_APPN }] });
      const deadId = body.dead_letters[0].id as string;
      expect((await app.inject({ method: 'GET', url: '/api/v1/dead-letters/nobody', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ method: 'POST', url: '/api/v1/dead-letters/esme/nope/retry', headers: auth })).statusCode).toBe(404);
      refuse = false;
      const retry = await app.inject({ method: 'POST', url: `/api/v1/dead-letters/esme/${deadId}/retry`, headers: auth });
      expect(retry.statusCode).toBe(200);
      expect(announced).toEqual(['esme']);
      await waitFor(() => taken.has('POISON'), 2000, 'the retried dead letter delivered');
      await expect.poll(() => held.count('esme'), { timeout: 2000, interval: 5 }).toBe(0);
      expect(await held.listDead('esme', 10)).toEqual([]);
      await app.close();
    } finally {
      clearInterval(answering);
    }
  });
});
