/**
 * The account table: lookups by system_id, each account's TPS limiter (a local token bucket unless
 * one is given, e.g. the shared one), its allow-list, and how it picks a receiving session.
 */
import { describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/session/shared-rate.js';
import { Account, AccountTable, type BoundSession, type DeliverCallback } from '../../src/upstream/accounts.js';
import { ipAllowed } from '../../src/upstream/cidr.js';
import { accountCfg } from './helpers.js';

/** A session as the account sees it. */
class Receiver implements BoundSession {
  delivered: Buffer[] = [];
  constructor(
    readonly name: string,
    public canReceive = true,
    public canTakeDeliver = true,
  ) {}
  deliver(pdu: Buffer, _done: DeliverCallback): boolean {
    this.delivered.push(pdu);
    return true;
  }
}

describe('AccountTable', () => {
  it('finds accounts by exact system_id and lists them all', () => {
    const t = new AccountTable([accountCfg({ system_id: 'acme' }), accountCfg({ system_id: 'beta' })], 0);
    expect(t.get('acme')?.id).toBe('acme');
    expect(t.get('beta')?.cfg.system_id).toBe('beta');
    expect(t.get('ACME')).toBeUndefined();
    expect(t.get('')).toBeUndefined();
    expect(t.all().map((a) => a.id)).toEqual(['acme', 'beta']);
    expect(new AccountTable([], 0).all()).toEqual([]);
  });

  it('asks the limiter factory for each account and uses a local bucket when it gives none', () => {
    const shared: Limiter = { take: () => false };
    const asked: string[] = [];
    const t = new AccountTable([accountCfg({ system_id: 'shared', tps: 5 }), accountCfg({ system_id: 'local', tps: 0 })], 0, (a) => {
      asked.push(a.system_id);
      return a.tps > 0 ? shared : undefined;
    });
    expect(asked).toEqual(['shared', 'local']);
    expect(t.get('shared')!.bucket).toBe(shared);
    // tps 0: unlimited local bucket.
    const local = t.get('local')!.bucket;
    expect(local).not.toBe(shared);
    for (let i = 0; i < 10_000; i++) expect(local.take(0)).toBe(true);
  });

  it('gives a local bucket a burst of one second of its TPS, refilled by the clock', () => {
    const a = new Account(accountCfg({ tps: 3 }), 1000);
    expect([a.bucket.take(1000), a.bucket.take(1000), a.bucket.take(1000), a.bucket.take(1000)]).toEqual([true, true, true, false]);
    expect(a.bucket.take(1333)).toBe(false);
    expect(a.bucket.take(1334)).toBe(true);
  });

  it('gives a fractional TPS a burst of one', () => {
    const a = new Account(accountCfg({ tps: 0.5 }), 0);
    expect([a.bucket.take(0), a.bucket.take(0)]).toEqual([true, false]);
    expect(a.bucket.take(1999)).toBe(false);
    expect(a.bucket.take(2000)).toBe(true);
  });

  it('parses allowed_ips once; the default lets every IPv4 and IPv6 address in', () => {
    const open = new Account(accountCfg(), 0);
    expect(ipAllowed('203.0.113.9', open.cidrs)).toBe(true);
    expect(ipAllowed('2001:db8::1', open.cidrs)).toBe(true);
    const narrow = new Account(accountCfg({ allowed_ips: ['10.1.0.0/16'] }), 0);
    expect(ipAllowed('10.1.200.3', narrow.cidrs)).toBe(true);
    expect(ipAllowed('10.2.0.1', narrow.cidrs)).toBe(false);
  });

  it('refuses an allow-list entry that is not an address', () => {
    expect(() => new Account(accountCfg({ allowed_ips: ['10.0.0.0/33'] }), 0)).toThrow(/beyond 32 bits/);
    expect(() => new AccountTable([accountCfg({ allowed_ips: ['example.com'] })], 0)).toThrow(/not an IP address/);
  });
});

describe('Account.pickReceiver', () => {
  it('returns null with no receiving session', () => {
    const a = new Account(accountCfg(), 0);
    expect(a.pickReceiver()).toBeNull();
    expect(a.hasReceiver()).toBe(false);
    a.sessions.add(new Receiver('tx', false, false));
    expect(a.pickReceiver()).toBeNull();
    expect(a.hasReceiver()).toBe(false);
  });

  it('spreads deliveries round-robin over the receiving sessions', () => {
    const a = new Account(accountCfg(), 0);
    const [r1, r2, r3] = [new Receiver('r1'), new Receiver('r2'), new Receiver('r3')];
    for (const r of [r1, r2, r3]) a.sessions.add(r);
    const picks = Array.from({ length: 6 }, () => (a.pickReceiver() as Receiver).name);
    expect(new Set(picks)).toEqual(new Set(['r1', 'r2', 'r3']));
    expect(picks.slice(0, 3)).toEqual(picks.slice(3));
  });

  it('skips sessions whose window is full, but still reports a receiver bound', () => {
    const a = new Account(accountCfg(), 0);
    const full = new Receiver('full', true, false);
    const free = new Receiver('free');
    a.sessions.add(full);
    a.sessions.add(free);
    for (let i = 0; i < 4; i++) expect(a.pickReceiver()).toBe(free);
    free.canTakeDeliver = false;
    expect(a.pickReceiver()).toBeNull();
    expect(a.hasReceiver()).toBe(true);
  });
});
