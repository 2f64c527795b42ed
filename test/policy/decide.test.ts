import { describe, expect, it } from 'vitest';
import { normaliseAddress, normaliseMsisdn } from '../../src/policy/address.js';
import { decideLocal, decideStored, type LocalInput } from '../../src/policy/decide.js';
import { SenderRegistry } from '../../src/policy/senders.js';
import { senderId, senderProblems, type SenderRecord } from '../../src/domain/sender.js';
import { compileReplies, normaliseReply, replyScope } from '../../src/decision/replies.js';
import { compileClassifier } from '../../src/policy/classify.js';
import { DEFAULT_REPLY_CONFIG } from './fixtures.js';

const N = { country_code: '86', national_prefix: '0', international_prefix: '00' };
const NOW = Date.parse('2026-11-28T10:00:00Z');

function sender(over: Partial<SenderRecord> = {}): SenderRecord {
  const kind = over.kind ?? 'number';
  const value = over.value ?? '8610690001';
  return { id: senderId(kind, value), kind, value, account: 'acme', class: 'commercial', status: 'active', signatures: ['ACME'], ...over };
}

function input(over: Partial<LocalInput> = {}): LocalInput {
  return {
    account: 'acme',
    now: NOW,
    src: { kind: 'number', value: '8610690001' },
    dst: { kind: 'number', value: '8613800138000' },
    sender: sender(),
    messageClass: null,
    accountClass: 'commercial',
    category: null,
    trace: null,
    ...over,
  };
}

describe('address normalisation', () => {
  it.each([
    ['+8613800138000', 0, '8613800138000'],
    ['008613800138000', 0, '8613800138000'],
    ['013800138000', 0, '8613800138000'],
    ['13800138000', 2, '8613800138000'],
    ['8613800138000', 1, '8613800138000'],
    ['13800138000', 0, '8613800138000'],
    ['+86 138-0013-8000', 0, '8613800138000'],
  ])('%s (TON %i) → %s', (raw, ton, want) => {
    expect(normaliseAddress(raw, ton, N)).toEqual({ kind: 'number', value: want });
  });
  it('reads plain digits with TON unknown as the general steps do (leading space: the general path)', () => {
    const noPrefixes = { ...N, national_prefix: '', international_prefix: '' };
    for (const n of [N, noPrefixes]) {
      for (const raw of ['8613800138000', '13800138000', '013800138000', '008613800138000', '00', '0', '86', '1', '123456789012345678', '1234567890123456789', '861234567890123456789']) {
        const general = normaliseAddress(` ${raw}`, 0, n);
        expect(normaliseAddress(raw, 0, n), `${raw} with ${JSON.stringify(n)}`).toEqual(general);
      }
    }
    expect(normaliseAddress('00', 0, N)).toEqual({ kind: 'invalid', value: '' });
    expect(normaliseAddress('1234567890123456789', 0, N).kind).toBe('invalid');
  });
  it('keeps alphanumeric senders, upper-cased', () => {
    expect(normaliseAddress('AcmeBank', 5, N)).toEqual({ kind: 'alpha', value: 'ACMEBANK' });
  });
  it('reports empty and invalid', () => {
    expect(normaliseAddress('', 1, N).kind).toBe('empty');
    expect(normaliseAddress('+12#4', 1, N).kind).toBe('invalid');
    expect(normaliseMsisdn('abc?', N)).toBe(null);
  });
});

describe('sender registry', () => {
  const reg = new SenderRegistry();
  reg.upsert(sender());
  reg.upsert(sender({ kind: 'prefix', value: '86106900', account: 'bulk' }));
  reg.upsert(sender({ kind: 'prefix', value: '861069', account: 'wide' }));
  reg.upsert(sender({ kind: 'range', value: '8610700000-8610700999', account: 'ranged' }));
  reg.upsert(sender({ kind: 'alpha', value: 'AcmeBank', account: 'acme' }));

  it('prefers the exact number, then the longest prefix, then a range', () => {
    expect(reg.find({ kind: 'number', value: '8610690001' })!.account).toBe('acme');
    expect(reg.find({ kind: 'number', value: '8610690099' })!.account).toBe('bulk');
    expect(reg.find({ kind: 'number', value: '8610691234' })!.account).toBe('wide');
    expect(reg.find({ kind: 'number', value: '8610700500' })!.account).toBe('ranged');
    expect(reg.find({ kind: 'number', value: '8610701000' })).toBe(null);
    expect(reg.find({ kind: 'alpha', value: 'ACMEBANK' })!.account).toBe('acme');
  });
  it('forgets removed entries', () => {
    reg.remove(senderId('prefix', '86106900'));
    expect(reg.find({ kind: 'number', value: '8610690099' })!.account).toBe('wide');
  });
  it('validates ranges, digits and dates', () => {
    expect(senderProblems(sender({ kind: 'range', value: '200-100' }))).toHaveLength(1);
    expect(senderProblems(sender({ kind: 'number', value: '12a' }))).toHaveLength(1);
    expect(senderProblems(sender({ valid_from: '2026-02-01T00:00:00Z', valid_until: '2026-01-01T00:00:00Z' }))).toHaveLength(1);
  });
});

describe('decideLocal: sender authorization and classification', () => {
  const reason = (i: LocalInput) => {
    const r = decideLocal(i);
    return 'done' in r ? r.done.reason : 'ask';
  };
  it('rejects hidden, invalid, unregistered and borrowed senders', () => {
    expect(reason(input({ src: { kind: 'empty', value: '' }, sender: null }))).toBe('sender_hidden');
    expect(reason(input({ src: { kind: 'invalid', value: 'x#' }, sender: null }))).toBe('sender_invalid');
    expect(reason(input({ sender: null }))).toBe('sender_unregistered');
    expect(reason(input({ sender: sender({ account: 'other' }) }))).toBe('sender_not_owned');
  });
  it('rejects suspended, revoked, expired and not-yet-valid registrations', () => {
    expect(reason(input({ sender: sender({ status: 'suspended' }) }))).toBe('sender_suspended');
    expect(reason(input({ sender: sender({ status: 'revoked' }) }))).toBe('sender_revoked');
    expect(reason(input({ sender: sender({ valid_until: '2026-11-01T00:00:00Z' }) }))).toBe('sender_expired');
    expect(reason(input({ sender: sender({ valid_from: '2026-12-01T00:00:00Z' }) }))).toBe('sender_not_yet_valid');
  });
  it('rejects a bad destination before anything else', () => {
    expect(reason(input({ dst: { kind: 'empty', value: '' } }))).toBe('invalid_destination');
    expect(reason(input({ dst: { kind: 'number', value: '1234567890123456' } }))).toBe('invalid_destination');
  });
  it('forwards non-commercial traffic without asking the store', () => {
    expect(reason(input({ sender: sender({ class: 'otp' }) }))).toBe('not_commercial');
    expect(reason(input({ sender: sender({ class: undefined }), accountClass: 'service' }))).toBe('not_commercial');
  });
  it('flags commercial content from a service port', () => {
    expect(reason(input({ sender: sender({ class: 'service' }), messageClass: 'commercial' }))).toBe('service_port_marketing');
  });
  it('asks the store for commercial messages, most specific scope first', () => {
    const r = decideLocal(input());
    expect('ask' in r && r.ask).toEqual({
      msisdn: '8613800138000',
      scopes: ['sender:number:8610690001', 'brand:ACME', 'account:acme'],
      category: null,
    });
  });
  it('records a trace only when asked', () => {
    const trace: string[] = [];
    const r = decideLocal(input({ sender: null, trace }));
    expect('done' in r && r.done.trace).toBe(trace);
    expect(trace.at(-1)).toMatch(/^reject: sender number is not registered/);
    const quiet = decideLocal(input({ sender: null }));
    expect('done' in quiet && quiet.done.trace).toBe(null);
  });
});

describe('decideStored: consent and DND', () => {
  const q = { msisdn: '8613800138000', scopes: ['sender:number:8610690001', 'brand:ACME', 'account:acme'], category: 3 };
  const facts = (consent: (string | null)[], dnd = false, dndCategory = false) => ({ consent, dnd, dndCategory });
  const reason = (f: ReturnType<typeof facts>) => decideStored(q, 'commercial', null, f, NOW).reason;
  it('no record is refusal', () => expect(reason(facts([null, null, null]))).toBe('no_consent'));
  it('a grant forwards', () => expect(reason(facts([null, `g:${NOW - 1000}`, null]))).toBe('consent_granted'));
  it('a revocation in any scope wins over a grant', () =>
    expect(reason(facts([`g:${NOW - 5000}`, null, `r:${NOW - 1000}`]))).toBe('consent_revoked'));
  it('a grant wins over DND', () => expect(reason(facts([`g:${NOW}`, null, null], true))).toBe('consent_granted'));
  it('DND without consent refuses, also by category', () => {
    expect(reason(facts([null, null, null], true))).toBe('dnd');
    expect(reason(facts([null, null, null], false, true))).toBe('dnd');
  });
  it('an expired grant is refusal', () => {
    expect(reason(facts([`g:${NOW - 10_000}:${NOW - 1}`, null, null]))).toBe('consent_expired');
    expect(reason(facts([`g:${NOW - 10_000}:${NOW + 60_000}`, null, null]))).toBe('consent_granted');
  });
});

describe('replies', () => {
  const classify = compileReplies(DEFAULT_REPLY_CONFIG);
  it.each([
    ['TD', 'opt_out'],
    [' td ', 'opt_out'],
    ['ＳＴＯＰ', 'opt_out'],
    ['Stop!', 'opt_out'],
    ['退订', 'opt_out'],
    ['opt-out', 'opt_out'],
    ['START', 'opt_in'],
    ['help', 'help'],
    ['hello there', null],
    ['STOP sending me this', null],
  ])('%j → %s', (text, kind) => expect(classify(text)).toBe(kind));
  it('normalises zero-width characters', () => expect(normaliseReply('S\u200bTOP')).toBe('STOP'));
  it('revokes the brand scope, else the number', () => {
    expect(replyScope(sender(), 'brand')).toBe('brand:ACME');
    expect(replyScope(sender({ signatures: [] }), 'brand')).toBe('sender:number:8610690001');
    expect(replyScope(sender(), 'account')).toBe('account:acme');
  });
});

describe('classifier', () => {
  it('maps service_type and a TLV to a class, and reads a category TLV', async () => {
    const { MessageView } = await import('../../src/protocol/message-view.js');
    const { encodePdu } = await import('../../src/protocol/encode.js');
    const c = compileClassifier({ service_types: { MKT: 'commercial' }, tlv: { tag: 0x1402, values: { P: 'commercial', T: 'service' } }, category_tlv: 0x1403 });
    const view = (st: string, tlvs: { tag: number; value: Buffer }[]) =>
      MessageView.parse(encodePdu(4, 0, 1, { service_type: st, source_addr: '1', destination_addr: '2' }, tlvs)) as import('../../src/protocol/message-view.js').MessageView;
    expect(c.messageClass(view('MKT', []))).toBe('commercial');
    expect(c.messageClass(view('', [{ tag: 0x1402, value: Buffer.from('T\0') }]))).toBe('service');
    expect(c.messageClass(view('', []))).toBe(null);
    expect(c.category(view('', [{ tag: 0x1403, value: Buffer.from([4]) }]))).toBe(4);
    expect(c.category(view('', [{ tag: 0x1403, value: Buffer.from('9') }]))).toBe(null);
  });
});
