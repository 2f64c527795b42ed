/**
 * Malformed input from a bound ESME, as raw hex fixtures (docs/architecture.md, SMPP facts): a length that cannot be
 * framed loses the stream, so that session (and only that one) closes after generic_nack; anything
 * that can be framed is answered (generic_nack for an unknown command, submit_sm_resp with the
 * status naming the bad field) and the session carries on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { hex } from '../protocol/fixtures.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { sm, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

/** A PDU from a header (command id, sequence) and a body written in hex; command_length is computed. */
function pdu(commandId: number, sequence: number, bodyHex = ''): Buffer {
  const body = hex(bodyHex);
  const head = Buffer.alloc(16);
  head.writeUInt32BE(16 + body.length, 0);
  head.writeUInt32BE(commandId, 4);
  head.writeUInt32BE(0, 8);
  head.writeUInt32BE(sequence, 12);
  return Buffer.concat([head, body]);
}

const asc = (s: string) => Buffer.from(s, 'latin1').toString('hex');

/** The fields of a good submit_sm up to (and including) source_addr. */
const SM_HEAD = `00  01 01 ${asc('10690001')} 00`;
/** From dest_addr_ton up to data_coding/sm_default_msg_id, for destination "8613800138000". */
const SM_DEST = `01 01 ${asc('8613800138000')} 00`;
const SM_MID = `00 00 00  00 00  00 00 00 00`; // esm_class, protocol_id, priority; schedule, validity; reg, replace, dcs, default id

async function answerTo(esme: EsmeClient, raw: Buffer): Promise<Buffer> {
  const seq = raw.readUInt32BE(12);
  const p = esme.waitFor((r) => (r.readUInt32BE(4) & 0x80000000) !== 0 && r.readUInt32BE(12) === seq, 2000);
  esme.send(raw);
  return p;
}

async function stillWorks(esme: EsmeClient): Promise<void> {
  expect(esme.isOpen).toBe(true);
  const r = await esme.submit(sm({ short_message: 'still here' }));
  expect(r.status).toBe(0);
  expect(r.commandId).toBe(Command.submit_sm_resp);
}

const header = (r: Buffer) => ({ command: r.readUInt32BE(4), status: r.readUInt32BE(8), sequence: r.readUInt32BE(12), length: r.readUInt32BE(0) });

describe('unframeable lengths close only that session', () => {
  it('command_length below 16: generic_nack ESME_RINVCMDLEN with the sequence, then closed; the other session is unaffected', async () => {
    stack = await startStack();
    const bad = await stack.esme('transceiver');
    const good = await stack.esme('transceiver');
    const nack = bad.waitFor((p) => p.readUInt32BE(4) === Command.generic_nack);
    bad.send(hex('0000000c 00000004 00000000 00000063')); // length 12 < header
    expect(header(await nack)).toEqual({ command: Command.generic_nack, status: Status.ESME_RINVCMDLEN, sequence: 0x63, length: 16 });
    expect(await bad.closed).toMatch(/./);
    expect(bad.isOpen).toBe(false);
    await stillWorks(good);
    // The account's bind slot was released: a new bind works.
    await stillWorks(await stack.esme('transceiver'));
  });

  it('command_length 0 split across TCP segments: still generic_nack with the sequence, then closed', async () => {
    stack = await startStack();
    const bad = await stack.esme('transmitter');
    const nack = bad.waitFor((p) => p.readUInt32BE(4) === Command.generic_nack);
    bad.send(hex('00000000 000000'));
    await new Promise((r) => setTimeout(r, 30));
    bad.send(hex('15 00000000 0000abcd'));
    expect(header(await nack).status).toBe(Status.ESME_RINVCMDLEN);
    expect(header(await nack).sequence).toBe(0xabcd);
    await bad.closed;
  });

  it('command_length above max_pdu_length: generic_nack, then closed; the other session is unaffected', async () => {
    stack = await startStack({ cfg: (c) => void (c.max_pdu_length = 4096) });
    const bad = await stack.esme('transceiver');
    const good = await stack.esme('transceiver');
    const nack = bad.waitFor((p) => p.readUInt32BE(4) === Command.generic_nack);
    bad.send(hex('00001001 00000004 00000000 00000077')); // 4097 > 4096
    expect(header(await nack)).toMatchObject({ status: Status.ESME_RINVCMDLEN, sequence: 0x77 });
    await bad.closed;
    await stillWorks(good);
  });

  it('a PDU exactly at max_pdu_length is framed and answered', async () => {
    stack = await startStack({ cfg: (c) => void (c.max_pdu_length = 4096) });
    const esme = await stack.esme('transceiver');
    const body = `${SM_HEAD} ${SM_DEST} ${SM_MID} 05 ${asc('hello')}`;
    const base = pdu(Command.submit_sm, 9, body);
    const pad = 4096 - base.length - 4; // one vendor TLV fills the rest
    const full = pdu(Command.submit_sm, 9, `${body} 1500 ${pad.toString(16).padStart(4, '0')} ${'ab'.repeat(pad)}`);
    expect(full.length).toBe(4096);
    expect(header(await answerTo(esme, full))).toMatchObject({ command: Command.submit_sm_resp, status: 0, sequence: 9 });
    expect(stack.sim.stats.submits).toBe(1);
  });
});

describe('framed but malformed PDUs are answered and the session carries on', () => {
  it('unknown command_id gets generic_nack ESME_RINVCMDID', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    const r = await answerTo(esme, hex('00000014 00000099 00000000 00000011 deadbeef'));
    expect(header(r)).toEqual({ command: Command.generic_nack, status: Status.ESME_RINVCMDID, sequence: 0x11, length: 16 });
    const r2 = await answerTo(esme, hex('00000010 0000ffff 00000000 00000012'));
    expect(header(r2)).toMatchObject({ command: Command.generic_nack, status: Status.ESME_RINVCMDID, sequence: 0x12 });
    await stillWorks(esme);
  });

  const cases: { name: string; body: string; status: number }[] = [
    {
      name: 'service_type without its NUL terminator (whole body unterminated)',
      body: asc('CMTCMTCMTCMT'),
      status: Status.ESME_RINVSERTYP,
    },
    {
      name: 'destination_addr without its NUL terminator at the end of the PDU',
      body: `${SM_HEAD} 01 01 ${asc('8613800138000')}`,
      status: Status.ESME_RINVDSTADR,
    },
    {
      name: 'source_addr over 20 octets',
      body: `00 01 01 ${asc('106900011234567890123')} 00 ${SM_DEST} ${SM_MID} 02 ${asc('hi')}`,
      status: Status.ESME_RINVSRCADR,
    },
    {
      name: 'destination_addr over 20 octets',
      body: `${SM_HEAD} 01 01 ${asc('861380013800012345678')} 00 ${SM_MID} 02 ${asc('hi')}`,
      status: Status.ESME_RINVDSTADR,
    },
    {
      name: 'sm_length running past the end of the PDU',
      body: `${SM_HEAD} ${SM_DEST} ${SM_MID} 20 ${asc('hello')}`,
      status: Status.ESME_RINVMSGLEN,
    },
    {
      name: 'TLV whose value runs past the end',
      body: `${SM_HEAD} ${SM_DEST} ${SM_MID} 02 ${asc('hi')} 1400 000a 3131`,
      status: Status.ESME_RINVOPTPARSTREAM,
    },
    {
      name: 'TLV header cut short (3 octets)',
      body: `${SM_HEAD} ${SM_DEST} ${SM_MID} 02 ${asc('hi')} 0424 00`,
      status: Status.ESME_RINVOPTPARSTREAM,
    },
    {
      name: 'validity_period over 16 octets',
      body: `${SM_HEAD} ${SM_DEST} 00 00 00 00 ${asc('000001000000000R0')} 00 00 00 00 00 02 ${asc('hi')}`,
      status: Status.ESME_RINVEXPIRY,
    },
  ];

  for (const c of cases) {
    it(`submit_sm with ${c.name} gets submit_sm_resp 0x${c.status.toString(16).padStart(2, '0')}`, async () => {
      stack = await startStack();
      const esme = await stack.esme('transceiver');
      const bad = pdu(Command.submit_sm, 0x300, c.body);
      const r = await answerTo(esme, bad);
      expect(header(r)).toMatchObject({ command: Command.submit_sm_resp, status: c.status, sequence: 0x300 });
      expect(stack.sim.stats.submits).toBe(0); // never forwarded
      await stillWorks(esme);
      expect(stack.sim.stats.submits).toBe(1);
    });
  }

  it('all the malformed submits back to back on one session, interleaved with good ones', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    const batch = cases.map((c, i) => pdu(Command.submit_sm, 0x500 + i, c.body));
    const answers = Promise.all(batch.map((b) => esme.waitFor((r) => r.readUInt32BE(12) === b.readUInt32BE(12), 2000)));
    esme.send(Buffer.concat(batch)); // one write, several PDUs
    const got = await answers;
    got.forEach((r, i) => expect(header(r)).toMatchObject({ command: Command.submit_sm_resp, status: cases[i]!.status }));
    await stillWorks(esme);
  });

  it('a submit_sm with an empty body gets generic_nack ESME_RINVCMDLEN (docs/architecture.md, SMPP facts), not silence', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    const r = await answerTo(esme, pdu(Command.submit_sm, 0x31));
    expect(header(r)).toMatchObject({ command: Command.generic_nack, status: Status.ESME_RINVCMDLEN, sequence: 0x31 });
    await stillWorks(esme);
  });

  it('a query_sm with an unterminated message_id is answered, not forwarded', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    const r = await answerTo(esme, pdu(Command.query_sm, 0x32, asc('abc')));
    expect(header(r)).toMatchObject({ command: Command.query_sm_resp, status: Status.ESME_RINVMSGID, sequence: 0x32 });
    await stillWorks(esme);
  });
});

describe('session state', () => {
  it('answers ESME_RINVBNDSTS to submit_sm and data_sm before bind, and a bind then works', async () => {
    stack = await startStack();
    const c = await connect('127.0.0.1', stack.gw.smppPort);
    const good = pdu(Command.submit_sm, 0x21, `${SM_HEAD} ${SM_DEST} ${SM_MID} 02 ${asc('hi')}`);
    expect(header(await answerTo(c, good))).toMatchObject({ command: Command.submit_sm_resp, status: Status.ESME_RINVBNDSTS, sequence: 0x21 });
    const dataSm = pdu(Command.data_sm, 0x22, `${SM_HEAD} ${SM_DEST} 00 00 00`);
    expect(header(await answerTo(c, dataSm))).toMatchObject({ command: Command.data_sm_resp, status: Status.ESME_RINVBNDSTS });
    expect(c.isOpen).toBe(true);
    expect(await c.bind('transceiver')).toBe(0);
    await stillWorks(c);
    await c.close();
  });

  it('answers unbind with unbind_resp and closes', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    const r = await answerTo(esme, hex('00000010 00000006 00000000 00000042'));
    expect(header(r)).toEqual({ command: Command.unbind_resp, status: 0, sequence: 0x42, length: 16 });
    await esme.closed;
    // The bind slot is free again.
    await stillWorks(await stack.esme('transceiver'));
  });

  it('a second bind on a bound session gets ESME_RALYBND and the session stays bound', async () => {
    stack = await startStack();
    const esme = await stack.esme('transceiver');
    expect(await esme.bind('transceiver')).toBe(Status.ESME_RALYBND);
    await stillWorks(esme);
  });

  it('closes a connection that never binds after upstream.bind_timeout_s', async () => {
    stack = await startStack({ cfg: (c) => void (c.upstream.bind_timeout_s = 1) });
    const c = await connect('127.0.0.1', stack.gw.smppPort);
    const t0 = Date.now();
    await c.closed;
    expect(Date.now() - t0).toBeLessThan(3500);
  });

  it('unbinds a bound session that stays silent past upstream.idle_timeout_s', async () => {
    stack = await startStack({ cfg: (c) => void (c.upstream.idle_timeout_s = 1) });
    const idle = await stack.esme('transceiver');
    const chatty = await stack.esme('transceiver');
    const keepAlive = setInterval(() => void chatty.request(Command.enquire_link).catch(() => undefined), 300);
    try {
      const t0 = Date.now();
      const unbind = await idle.waitFor((p) => p.readUInt32BE(4) === Command.unbind, 3500);
      expect(header(unbind).status).toBe(0);
      await idle.closed; // the client answered unbind_resp; the gateway closes
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(500);
      expect(took).toBeLessThan(3500);
      expect(chatty.isOpen).toBe(true);
      await stillWorks(chatty);
    } finally {
      clearInterval(keepAlive);
    }
  });
});
