/**
 * One ESME session over an in-memory link with a manual clock: binding (and every way a bind is
 * refused), enquire_link, what may be sent in which state, generic_nack for what cannot be read,
 * window and TPS throttling, the deliver_sm window toward the ESME, and both ways of unbinding.
 */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { decode, str } from '../../src/protocol/decode.js';
import { encodeEmpty, encodePdu, genericNack } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { findTlv, Tag } from '../../src/protocol/tlv.js';
import { head, settle, valueOf } from '../helpers/fake-link.js';
import { bindPdu, deliverResp, enquireLink, moPdu, rawPdu, submitPdu, submitResp, unbindPdu } from '../helpers/pdus.js';
import { accountCfg, sessionRig } from './helpers.js';

describe('bind', () => {
  for (const [kind, command] of [
    ['transmitter', Command.bind_transmitter_resp],
    ['receiver', Command.bind_receiver_resp],
    ['transceiver', Command.bind_transceiver_resp],
  ] as const) {
    it(`answers bind_${kind} with ESME_ROK, the gateway's system_id and sc_interface_version 0x34`, async () => {
      const rig = sessionRig();
      const { session, esme } = rig.connect();
      expect(session.state).toBe('OPEN');
      esme.send(bindPdu(kind, 42, 'esme', 'secret'));
      const resp = await esme.next();
      expect(head(resp)).toMatchObject({ command, status: 0, sequence: 42 });
      const d = decode(resp);
      if (!d.ok) throw new Error(d.reason);
      expect(str(d.pdu.fields.system_id)).toBe('smppguard');
      expect(findTlv(d.pdu.tlvs, Tag.sc_interface_version)).toEqual(Buffer.from([0x34]));
      expect(session.state).toBe('BOUND');
      expect(session.bindKind).toBe(kind);
      expect(session.account?.id).toBe('esme');
      expect([...rig.accounts.get('esme')!.sessions]).toEqual([session]);
      expect(await valueOf(rig.metrics.bindAttempts, { account: 'esme', outcome: 'ok' })).toBe(1);
      expect(await valueOf(rig.metrics.bindsActive, { account: 'esme', type: kind })).toBe(1);
      // Held deliveries are released when a session that can receive binds, not for a transmitter.
      expect(rig.handler.receiversBound).toEqual(kind === 'transmitter' ? [] : [session]);
      expect(session.canSubmit).toBe(kind !== 'receiver');
      expect(session.canReceive).toBe(kind !== 'transmitter');
      expect(session.canTakeDeliver).toBe(kind !== 'transmitter');
    });
  }

  const refusals: [string, () => ReturnType<typeof sessionRig>, Buffer, number, string][] = [
    ['an unknown system_id', () => sessionRig(), bindPdu('transceiver', 3, 'nobody', 'secret'), Status.ESME_RBINDFAIL, 'unknown'],
    ['a wrong password', () => sessionRig(), bindPdu('transceiver', 3, 'esme', 'wrong'), Status.ESME_RBINDFAIL, 'esme'],
    [
      'a source IP outside allowed_ips',
      () => sessionRig({ accounts: [accountCfg({ allowed_ips: ['10.0.0.0/8'] })] }),
      bindPdu('transceiver', 3, 'esme', 'secret'),
      Status.ESME_RBINDFAIL,
      'esme',
    ],
  ];
  for (const [what, rig0, pdu, status, account] of refusals) {
    it(`refuses ${what} with 0x${status.toString(16)} and drops the connection`, async () => {
      const rig = rig0();
      const { session, esme } = rig.connect();
      esme.send(pdu);
      expect(head(await esme.next())).toEqual({ length: 16, command: Command.bind_transceiver_resp, status, sequence: 3 });
      await esme.closed;
      expect(session.state).toBe('CLOSED');
      expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
      expect(await valueOf(rig.metrics.bindAttempts, { account, outcome: Object.entries(Status).find(([, v]) => v === status)![0] })).toBe(1);
    });
  }

  it('matches allowed_ips against the IPv4 address of an IPv4-mapped IPv6 peer', async () => {
    const rig = sessionRig({ accounts: [accountCfg({ allowed_ips: ['192.0.2.0/24'] })] });
    await rig.bound('transmitter', 'esme', '::ffff:192.0.2.7');
    const { esme } = rig.connect('::ffff:198.51.100.1');
    esme.send(bindPdu('transmitter', 1, 'esme', 'secret'));
    expect(head(await esme.next()).status).toBe(Status.ESME_RBINDFAIL);
  });

  it('refuses a bind beyond max_binds, and takes one again once a session has gone', async () => {
    const rig = sessionRig({ accounts: [accountCfg({ max_binds: 2 })] });
    const first = await rig.bound();
    await rig.bound();
    const third = rig.connect();
    third.esme.send(bindPdu('transceiver', 9, 'esme', 'secret'));
    expect(head(await third.esme.next())).toMatchObject({ status: Status.ESME_RBINDFAIL, sequence: 9 });
    await third.esme.closed;
    first.esme.send(unbindPdu(2));
    await first.esme.closed;
    expect(rig.accounts.get('esme')!.sessions.size).toBe(1);
    await rig.bound();
  });

  it('asks the shared limit over all instances, and releases the slot when the session closes', async () => {
    const calls: string[] = [];
    let allow = true;
    const rig = sessionRig({
      sharedBinds: {
        reserve: async (account, max) => (calls.push(`reserve ${account} ${max}`), allow),
        release: (account) => void calls.push(`release ${account}`),
      },
    });
    const { esme } = await rig.bound();
    expect(calls).toEqual(['reserve esme 4']);
    allow = false;
    const refused = rig.connect();
    refused.esme.send(bindPdu('transmitter', 5, 'esme', 'secret'));
    expect(head(await refused.esme.next())).toMatchObject({ command: Command.bind_transmitter_resp, status: Status.ESME_RBINDFAIL });
    await refused.esme.closed;
    expect(calls).toEqual(['reserve esme 4', 'reserve esme 4']);
    esme.send(unbindPdu(2));
    await esme.closed;
    expect(calls).toEqual(['reserve esme 4', 'reserve esme 4', 'release esme']);
  });

  it('gives the shared slot back when the ESME left while it was being reserved', async () => {
    const calls: string[] = [];
    let grant!: (ok: boolean) => void;
    const rig = sessionRig({
      sharedBinds: {
        reserve: () => new Promise<boolean>((r) => (grant = r)),
        release: (account) => void calls.push(`release ${account}`),
      },
    });
    const { session, esme } = rig.connect();
    esme.send(bindPdu('transceiver', 1, 'esme', 'secret'));
    while (!grant) await settle(1);
    esme.stream.destroy();
    await settle();
    grant(true);
    await settle();
    expect(calls).toEqual(['release esme']);
    expect(session.state).toBe('CLOSED');
    expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
  });

  it('refuses binds while shutting down, and closes a connection that arrives then', async () => {
    const rig = sessionRig();
    const { esme } = rig.connect();
    rig.setDraining(true);
    esme.send(bindPdu('transceiver', 4, 'esme', 'secret'));
    expect(head(await esme.next())).toMatchObject({ status: Status.ESME_RBINDFAIL, sequence: 4 });
    await esme.closed;
    const late = rig.connect();
    await late.esme.closed;
    expect(late.session.state).toBe('CLOSED');
  });

  it('answers a second bind on a bound session with ESME_RALYBND and stays bound', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('transmitter');
    esme.send(bindPdu('receiver', 2, 'esme', 'secret'));
    await settle();
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.bind_receiver_resp, status: Status.ESME_RALYBND, sequence: 2 }]);
    expect(session.state).toBe('BOUND');
    expect(session.bindKind).toBe('transmitter');
  });

  it('answers a bind whose system_id is not terminated with the field status, and closes', async () => {
    const rig = sessionRig();
    const { esme } = rig.connect();
    esme.send(rawPdu(Command.bind_transmitter, 6, Buffer.from('esme-without-nul', 'latin1')));
    expect(head(await esme.next())).toMatchObject({ command: Command.bind_transmitter_resp, status: Status.ESME_RINVSYSID, sequence: 6 });
    await esme.closed;
    expect(await valueOf(rig.metrics.malformed, { side: 'upstream', reason: 'system_id' })).toBe(1);
  });
});

describe('before a bind', () => {
  it('answers enquire_link, and refuses submit_sm with ESME_RINVBNDSTS without passing it on', async () => {
    const rig = sessionRig();
    const { session, esme } = rig.connect();
    esme.send(enquireLink(11));
    esme.send(submitPdu(12));
    await settle();
    expect(esme.take().map(head)).toEqual([
      { length: 16, command: Command.enquire_link_resp, status: 0, sequence: 11 },
      { length: 16, command: Command.submit_sm_resp, status: Status.ESME_RINVBNDSTS, sequence: 12 },
    ]);
    expect(rig.handler.submits).toEqual([]);
    expect(session.state).toBe('OPEN');
  });
});

describe('requests from a bound ESME', () => {
  it('passes submit_sm, data_sm, query_sm and cancel_sm to the handler and counts them outstanding', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('transmitter');
    const pdus = [
      submitPdu(20),
      encodePdu(Command.data_sm, 0, 21, { source_addr: '1069', destination_addr: '8613800138000' }),
      encodePdu(Command.query_sm, 0, 22, { message_id: 'abc', source_addr: '1069' }),
      encodePdu(Command.cancel_sm, 0, 23, { message_id: 'abc', source_addr: '1069', destination_addr: '8613800138000' }),
    ];
    for (const p of pdus) esme.send(p);
    await settle();
    expect(rig.handler.submits.map((s) => s.pdu)).toEqual(pdus);
    expect(rig.handler.submits.every((s) => s.session === session)).toBe(true);
    expect(session.outstanding).toBe(4);
    expect(esme.take()).toEqual([]);
    session.settle();
    expect(session.outstanding).toBe(3);
  });

  it('refuses submits on a receiver bind with ESME_RINVBNDSTS', async () => {
    const rig = sessionRig();
    const { esme } = await rig.bound('receiver');
    esme.send(submitPdu(30));
    await settle();
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.submit_sm_resp, status: Status.ESME_RINVBNDSTS, sequence: 30 }]);
    expect(rig.handler.submits).toEqual([]);
  });

  it('refuses replace_sm, submit_multi, broadcast_sm and an ESME-sent deliver_sm with ESME_RINVCMDID', async () => {
    const rig = sessionRig();
    const { esme } = await rig.bound();
    const cases = [Command.replace_sm, Command.submit_multi, Command.broadcast_sm, Command.query_broadcast_sm, Command.cancel_broadcast_sm, Command.deliver_sm];
    cases.forEach((c, i) => esme.send(rawPdu(c, 40 + i)));
    await settle();
    expect(esme.take().map(head)).toEqual(
      cases.map((c, i) => ({ length: 16, command: (c | 0x80000000) >>> 0, status: Status.ESME_RINVCMDID, sequence: 40 + i })),
    );
    expect(rig.handler.submits).toEqual([]);
  });

  it('answers an unknown command id with generic_nack ESME_RINVCMDID and carries on', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    esme.send(rawPdu(0x00000077, 50, Buffer.from('junk')));
    esme.send(enquireLink(51));
    await settle();
    expect(esme.take().map(head)).toEqual([
      { length: 16, command: Command.generic_nack, status: Status.ESME_RINVCMDID, sequence: 50 },
      { length: 16, command: Command.enquire_link_resp, status: 0, sequence: 51 },
    ]);
    expect(session.state).toBe('BOUND');
    expect(await valueOf(rig.metrics.malformed, { side: 'upstream', reason: 'unknown_command' })).toBe(1);
  });

  it('answers outbind and alert_notification (requests only an SMSC sends) with generic_nack', async () => {
    const rig = sessionRig();
    const { esme } = await rig.bound();
    esme.send(rawPdu(Command.outbind, 60));
    esme.send(rawPdu(Command.alert_notification, 61));
    await settle();
    expect(esme.take().map((p) => [head(p).command, head(p).status, head(p).sequence])).toEqual([
      [Command.generic_nack, Status.ESME_RINVCMDID, 60],
      [Command.generic_nack, Status.ESME_RINVCMDID, 61],
    ]);
  });

  it('closes a stream that cannot be framed after generic_nack ESME_RINVCMDLEN with its sequence, releasing the bind', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    esme.sendRaw(Buffer.from('0000000c000000040000000000000063', 'hex'));
    await esme.closed;
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.generic_nack, status: Status.ESME_RINVCMDLEN, sequence: 0x63 }]);
    expect(session.state).toBe('CLOSED');
    expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
    expect(await valueOf(rig.metrics.malformed, { side: 'upstream', reason: 'unframeable' })).toBe(1);
    expect(await valueOf(rig.metrics.bindsActive, { account: 'esme', type: 'transceiver' })).toBe(0);
  });

  it('closes a stream whose command_length exceeds max_pdu_length', async () => {
    const rig = sessionRig({ maxPduLength: 256 });
    const { esme } = await rig.bound();
    esme.send(submitPdu(70, { short_message: 'x'.repeat(250) }));
    await esme.closed;
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.generic_nack, status: Status.ESME_RINVCMDLEN, sequence: 70 }]);
  });

  it('keeps the session when the handler throws', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    rig.handler.onSubmit = () => {
      throw new Error('boom');
    };
    esme.send(submitPdu(80));
    esme.send(enquireLink(81));
    await settle();
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.enquire_link_resp, status: 0, sequence: 81 }]);
    expect(session.state).toBe('BOUND');
  });
});

describe('throttling', () => {
  it("refuses submits beyond the account's window with ESME_RTHROTTLED until answers settle them", async () => {
    const rig = sessionRig({ accounts: [accountCfg({ window: 3 })] });
    const { session, esme } = await rig.bound('transmitter');
    for (let s = 1; s <= 5; s++) esme.send(submitPdu(100 + s));
    await settle();
    expect(rig.handler.submits.map((x) => head(x.pdu).sequence)).toEqual([101, 102, 103]);
    expect(esme.take().map(head)).toEqual([
      { length: 16, command: Command.submit_sm_resp, status: Status.ESME_RTHROTTLED, sequence: 104 },
      { length: 16, command: Command.submit_sm_resp, status: Status.ESME_RTHROTTLED, sequence: 105 },
    ]);
    expect(await valueOf(rig.metrics.throttled, { account: 'esme', limit: 'window' })).toBe(2);
    session.settle();
    esme.send(submitPdu(106));
    await settle();
    expect(rig.handler.submits.map((x) => head(x.pdu).sequence)).toEqual([101, 102, 103, 106]);
  });

  it('counts the window per session: two binds of a window-1 account each get one submit through', async () => {
    const rig = sessionRig({ accounts: [accountCfg({ window: 1 })] });
    const a = await rig.bound('transmitter');
    const b = await rig.bound('transmitter');
    a.esme.send(submitPdu(1));
    b.esme.send(submitPdu(1));
    await settle();
    expect(rig.handler.submits).toHaveLength(2);
  });

  it('holds the account to its TPS over all its binds, refilling by the clock', async () => {
    const rig = sessionRig({ accounts: [accountCfg({ tps: 2 })] });
    const a = await rig.bound('transmitter');
    const b = await rig.bound('transmitter');
    a.esme.send(submitPdu(1));
    b.esme.send(submitPdu(1));
    a.esme.send(submitPdu(2));
    await settle();
    expect(rig.handler.submits).toHaveLength(2);
    expect(a.esme.take().map(head)).toEqual([{ length: 16, command: Command.submit_sm_resp, status: Status.ESME_RTHROTTLED, sequence: 2 }]);
    expect(await valueOf(rig.metrics.throttled, { account: 'esme', limit: 'tps' })).toBe(1);
    rig.clock.advance(499);
    a.esme.send(submitPdu(3));
    await settle();
    expect(head(a.esme.take()[0]!).status).toBe(Status.ESME_RTHROTTLED);
    rig.clock.advance(1); // half a second at 2/s: one token
    a.esme.send(submitPdu(4));
    await settle();
    expect(a.esme.take()).toEqual([]);
    expect(rig.handler.submits.map((x) => head(x.pdu).sequence)).toEqual([1, 1, 4]);
  });

  it('stops reading an ESME that does not read its responses, and resumes when it catches up', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    esme.stream.pause();
    // ~40 KB of enquire_link_resp in one flush: over the 16 KB high-water mark of the link.
    const burst = Buffer.concat(Array.from({ length: 2500 }, (_, i) => enquireLink(1000 + i)));
    esme.sendRaw(burst);
    await settle();
    expect(session.conn.congested).toBe(true);
    // The next response the session sends while backed up makes it stop reading.
    esme.send(enquireLink(3500));
    await settle();
    esme.send(submitPdu(5000));
    await settle();
    expect(rig.handler.submits).toEqual([]); // not read while the ESME is backed up
    esme.stream.resume();
    await settle(20);
    expect(session.conn.congested).toBe(false);
    expect(rig.handler.submits.map((x) => head(x.pdu).sequence)).toEqual([5000]);
    const got = esme.take();
    expect(got.map((p) => head(p).sequence)).toEqual([...Array.from({ length: 2500 }, (_, i) => 1000 + i), 3500]);
  });
});

describe('answers to forwarded requests', () => {
  it("sends the SMSC's response with the ESME's own sequence number, byte for byte otherwise", async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    const resp = submitResp(987654, 0, 'smsc-id-1');
    const expected = Buffer.from(resp);
    expected.writeUInt32BE(77, 12);
    session.forwardResponse(resp, 77);
    await settle();
    expect(esme.take()).toEqual([expected]);
  });

  it('respond() builds the response for the request id and nack() a generic_nack', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    session.respond(Command.data_sm, 0, 5, 'gw-1');
    session.respond(Command.submit_sm, Status.ESME_RSYSERR, 6);
    session.nack(Status.ESME_RINVCMDLEN, 7);
    await settle();
    const [a, b, c] = esme.take();
    expect(head(a!)).toMatchObject({ command: Command.data_sm_resp, status: 0, sequence: 5 });
    expect(a!.subarray(16).toString('latin1')).toBe('gw-1\0');
    expect(b).toEqual(encodeEmpty(Command.submit_sm_resp, Status.ESME_RSYSERR, 6));
    expect(c).toEqual(genericNack(Status.ESME_RINVCMDLEN, 7));
  });
});

describe('deliver_sm toward the ESME', () => {
  it("numbers deliveries with the session's own sequence and reports the ESME's status", async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('receiver');
    const got: (number | null)[] = [];
    const mo = moPdu(555, '8613800138000', '10690001');
    expect(session.deliver(mo, (s) => got.push(s))).toBe(true);
    expect(session.deliver(moPdu(556, '8613800138000', '10690001'), (s) => got.push(s))).toBe(true);
    await settle();
    const [first, second] = esme.take();
    // The session's own counter (whatever sequence the SMSC used), starting at 1.
    expect([head(first!).sequence, head(second!).sequence]).toEqual([1, 2]);
    expect(first!.subarray(16)).toEqual(mo.subarray(16));
    esme.send(deliverResp(2, Status.ESME_RX_T_APPN));
    esme.send(deliverResp(1, 0));
    await settle();
    expect(got).toEqual([Status.ESME_RX_T_APPN, 0]);
  });

  it("fails a delivery the ESME does not answer within deliverTimeoutMs (manual clock), and counts a late answer", async () => {
    const rig = sessionRig({ deliverTimeoutMs: 2000 });
    const { session, esme } = await rig.bound('transceiver');
    const got: (number | null)[] = [];
    session.deliver(moPdu(1, '8613800138000', '10690001'), (s) => got.push(s));
    rig.clock.advance(2000);
    expect(got).toEqual([]);
    rig.clock.advance(1);
    expect(got).toEqual([null]);
    esme.send(deliverResp(1, 0));
    await settle();
    expect(got).toEqual([null]);
    expect(await valueOf(rig.metrics.lateResponses, { side: 'upstream' })).toBe(1);
  });

  it('takes generic_nack as the answer to a delivery', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('receiver');
    const got: (number | null)[] = [];
    session.deliver(moPdu(1, '8613800138000', '10690001'), (s) => got.push(s));
    esme.send(genericNack(Status.ESME_RINVCMDLEN, 1));
    await settle();
    expect(got).toEqual([Status.ESME_RINVCMDLEN]);
  });

  it("refuses deliveries beyond the account's window, and to a transmitter", async () => {
    const rig = sessionRig({ accounts: [accountCfg({ window: 2 })] });
    const rx = await rig.bound('receiver');
    const noop = () => undefined;
    expect(rx.session.deliver(moPdu(1, '1', '2'), noop)).toBe(true);
    expect(rx.session.deliver(moPdu(1, '1', '2'), noop)).toBe(true);
    expect(rx.session.canTakeDeliver).toBe(false);
    expect(rx.session.deliver(moPdu(1, '1', '2'), noop)).toBe(false);
    const tx = await rig.bound('transmitter');
    expect(tx.session.deliver(moPdu(1, '1', '2'), noop)).toBe(false);
  });

  it('fails every delivery in flight when the connection closes', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('receiver');
    const got: (number | null)[] = [];
    session.deliver(moPdu(1, '1', '2'), (s) => got.push(s));
    session.deliver(moPdu(1, '1', '2'), (s) => got.push(s));
    esme.stream.destroy();
    await settle();
    expect(got).toEqual([null, null]);
    expect(session.canReceive).toBe(false);
  });
});

describe('unbind', () => {
  it('answers the ESME\'s unbind with unbind_resp and closes, removing the bind from its account', async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound('transceiver');
    esme.send(unbindPdu(90));
    await esme.closed;
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.unbind_resp, status: 0, sequence: 90 }]);
    expect(session.state).toBe('CLOSED');
    expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
    expect(await valueOf(rig.metrics.bindsActive, { account: 'esme', type: 'transceiver' })).toBe(0);
    expect(await valueOf(rig.metrics.sessionsClosed, { side: 'upstream', reason: 'ESME unbound' })).toBe(1);
  });

  it("the gateway's unbind closes the link once the ESME answers it", async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    session.unbind();
    expect(session.state).toBe('UNBINDING');
    await settle();
    const [u] = esme.take();
    expect(head(u!)).toMatchObject({ command: Command.unbind, status: 0 });
    // Still bound to its account while unbinding: in-flight answers may still come back.
    expect(rig.accounts.get('esme')!.sessions.size).toBe(1);
    esme.send(encodeEmpty(Command.unbind_resp, 0, head(u!).sequence));
    await esme.closed;
    expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
  });

  it("the gateway's unbind closes the link after 2 s when the ESME does not answer", async () => {
    const rig = sessionRig();
    const { session, esme } = await rig.bound();
    session.unbind();
    rig.clock.advance(1999);
    await settle();
    expect(esme.isClosed).toBe(false);
    rig.clock.advance(1);
    await esme.closed;
    expect(session.state).toBe('CLOSED');
  });

  it('unbind() on a session that never bound just closes it', async () => {
    const rig = sessionRig();
    const { session, esme } = rig.connect();
    session.unbind();
    await esme.closed;
    expect(esme.take()).toEqual([]);
  });

  it('an ESME that drops the connection frees its bind', async () => {
    const rig = sessionRig({ accounts: [accountCfg({ max_binds: 1 })] });
    const { esme } = await rig.bound();
    esme.end();
    await esme.closed;
    expect(rig.accounts.get('esme')!.sessions.size).toBe(0);
    await rig.bound();
  });
});
