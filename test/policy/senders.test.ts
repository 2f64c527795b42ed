import { describe, expect, it } from 'vitest';
import { senderId, type SenderRecord } from '../../src/domain/sender.js';
import { SenderRegistry } from '../../src/policy/senders.js';

const rec = (kind: SenderRecord['kind'], value: string, account = 'a'): SenderRecord => ({
  id: senderId(kind, value),
  kind,
  value,
  account,
  class: 'commercial',
  status: 'active',
  signatures: [],
});
const num = (value: string) => ({ kind: 'number' as const, value }) as Parameters<SenderRegistry['find']>[0];

describe('SenderRegistry prefixes', () => {
  it('finds the longest prefix while prefixes of each length come and go', () => {
    const r = new SenderRegistry();
    r.upsert(rec('prefix', '1069'));
    r.upsert(rec('prefix', '106900'));
    r.upsert(rec('prefix', '106901'));
    expect(r.find(num('10690012345'))?.value).toBe('106900');
    expect(r.find(num('10699999'))?.value).toBe('1069');
    r.remove(senderId('prefix', '106900'));
    // Another prefix of length 6 remains: length 6 is still tried.
    expect(r.find(num('10690112345'))?.value).toBe('106901');
    expect(r.find(num('10690012345'))?.value).toBe('1069');
    r.remove(senderId('prefix', '106901'));
    r.remove(senderId('prefix', '1069'));
    expect(r.find(num('10690112345'))).toBeNull();
    // Re-registering the same prefix (an update) does not count its length twice.
    r.upsert(rec('prefix', '1068', 'a'));
    r.upsert(rec('prefix', '1068', 'b'));
    expect(r.find(num('106800'))?.account).toBe('b');
    r.remove(senderId('prefix', '1068'));
    expect(r.find(num('106800'))).toBeNull();
    expect(r.size).toBe(0);
  });

  it('loads 5,000 prefixes without rebuilding its length list on every upsert', () => {
    const r = new SenderRegistry();
    for (let i = 0; i < 5000; i++) r.upsert(rec('prefix', `10${String(i).padStart(5, '0')}`));
    expect(r.find(num('1000042999'))?.value).toBe('1000042');
    expect(r.size).toBe(5000);
  });
});
