/**
 * The proxy must forward what it does not interpret byte for byte (docs/architecture.md, SMPP facts): vendor TLVs, UDH,
 * data_coding, UCS-2 with surrogate pairs, relative validity periods. Requests are sent as raw
 * bytes; what the simulator received (record: true) and what crossed the gateway→SMSC wire (a
 * capture proxy between them) must equal them except for the sequence number (bytes 12..15). The
 * SMSC's answers must reach the ESME the same way.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { Tag } from '../../src/protocol/tlv.js';
import { hex } from '../protocol/fixtures.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

/** One PDU seen by the tap, with the connection (gateway bind) it crossed. */
interface Seen {
  conn: number;
  pdu: Buffer;
}

/** A TCP pass-through that records, per direction, the PDUs crossing it. */
interface Tap {
  port: number;
  /** gateway → SMSC */
  up: Seen[];
  /** SMSC → gateway */
  down: Seen[];
  /** The SMSC's answer on the same connection to the request `req` the tap saw going up. */
  answerTo(req: Buffer): Buffer | undefined;
  close(): Promise<void>;
}

function framer(conn: number, out: Seen[]): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0) && buf.readUInt32BE(0) >= 16) {
      const len = buf.readUInt32BE(0);
      out.push({ conn, pdu: Buffer.from(buf.subarray(0, len)) });
      buf = buf.subarray(len);
    }
  };
}

async function startTap(targetPort: number): Promise<Tap> {
  const up: Seen[] = [];
  const down: Seen[] = [];
  const sockets = new Set<Socket>();
  let conns = 0;
  const server: Server = createServer((client) => {
    const conn = conns++;
    const smsc = netConnect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, smsc]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    const recUp = framer(conn, up);
    const recDown = framer(conn, down);
    client.on('data', (d: Buffer) => {
      recUp(d);
      smsc.write(d);
    });
    smsc.on('data', (d: Buffer) => {
      recDown(d);
      client.write(d);
    });
    client.on('close', () => smsc.destroy());
    smsc.on('close', () => client.destroy());
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    port,
    up,
    down,
    answerTo(req) {
      const sent = up.find((s) => s.pdu.equals(req));
      if (!sent) return undefined;
      const respId = (req.readUInt32BE(4) | 0x80000000) >>> 0;
      const seq = req.readUInt32BE(12);
      return down.find((s) => s.conn === sent.conn && s.pdu.readUInt32BE(4) === respId && s.pdu.readUInt32BE(12) === seq)?.pdu;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const ucs2 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
const withoutSequence = (pdu: Buffer): Buffer => Buffer.concat([pdu.subarray(0, 12), pdu.subarray(16)]);
const isResp = (p: Buffer) => (p.readUInt32BE(4) & 0x80000000) !== 0;

let stack: Stack | null = null;
let tap: Tap | null = null;
afterEach(async () => {
  await stack?.stop();
  await tap?.close();
  stack = null;
  tap = null;
});

async function setup(): Promise<{ esme: EsmeClient; stack: Stack; tap: Tap }> {
  stack = await startStack({
    sim: { record: true },
    smscPort: async (simPort) => (tap = await startTap(simPort)).port,
  });
  const esme = await stack.esme('transceiver');
  return { esme, stack, tap: tap! };
}

/** Sends `pdu` as is and resolves with the response carrying its sequence number. */
async function exchange(esme: EsmeClient, pdu: Buffer): Promise<Buffer> {
  const seq = pdu.readUInt32BE(12);
  const answer = esme.waitFor((p) => isResp(p) && p.readUInt32BE(12) === seq, 2000);
  esme.send(Buffer.from(pdu)); // a copy: the test keeps the original
  return answer;
}

// "Hi 😀 中文 𠀀": BMP text, an emoji and a supplementary-plane CJK ideograph (two surrogate pairs).
const TEXT = 'Hi 😀 中文 𠀀';

/** A DLT-style concatenated UCS-2 submit_sm, written out by hand. */
function dltSubmit(seq: number, part: number): Buffer {
  const udh = Buffer.from([0x05, 0x00, 0x03, 0xa7, 0x02, part]);
  const sm = Buffer.concat([udh, ucs2(`${TEXT} (${part}/2)`)]);
  const body = Buffer.concat([
    hex(`
      434d5400                                   # service_type "CMT"
      05 00 ${Buffer.from('DLTHDR').toString('hex')} 00   # source ton 5 (alnum), npi 0, "DLTHDR"
      01 01 ${Buffer.from('919876543210').toString('hex')} 00 # dest ton 1, npi 1
      40                                         # esm_class: UDHI
      00                                         # protocol_id
      02                                         # priority_flag 2
      ${Buffer.from('250615103000000+').toString('hex')} 00  # schedule_delivery_time (absolute)
      ${Buffer.from('000001000000000R').toString('hex')} 00  # validity_period (relative: 1 day)
      01 00 08 00                                # registered_delivery 1, replace 0, data_coding UCS-2, default msg id
    `),
    Buffer.from([sm.length]),
    sm,
    hex(`
      1400 0013 31313031323334353637383930313233343536   # PE_ID "1101234567890123456"
      1401 0013 31313037313630303030303030303132333435   # template id "1107160000000012345"
      1402 0000                                          # an empty vendor TLV
      3fff 0004 00ff00ff                                 # unknown vendor TLV with NULs
    `),
  ]);
  const head = Buffer.alloc(16);
  head.writeUInt32BE(16 + body.length, 0);
  head.writeUInt32BE(Command.submit_sm, 4);
  head.writeUInt32BE(0, 8);
  head.writeUInt32BE(seq, 12);
  return Buffer.concat([head, body]);
}

describe('byte-exact forwarding', () => {
  it('forwards a UCS-2 concatenated submit_sm with DLT vendor TLVs unchanged except the sequence number', async () => {
    const { esme, stack, tap } = await setup();
    const parts = [dltSubmit(0x00abcdef, 1), dltSubmit(0x7ffffffe, 2)];
    // Sanity: the fixture is what it claims to be.
    const v = MessageView.parse(parts[0]!);
    if (isScanError(v)) throw new Error(`bad fixture: ${v.field} ${v.reason}`);
    expect(v.validityPeriod).toBe('000001000000000R');
    expect(v.dataCoding).toBe(8);
    expect(v.tlv(0x1400)!.toString()).toBe('1101234567890123456');
    expect(Buffer.from(v.shortMessage.subarray(6, 6 + ucs2(TEXT).length)).swap16().toString('utf16le')).toBe(TEXT);

    const resps: Buffer[] = [];
    for (const p of parts) resps.push(await exchange(esme, p));

    expect(stack.sim.received).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const got = stack.sim.received[i]!;
      expect(got.length).toBe(parts[i]!.length);
      expect(withoutSequence(got).toString('hex')).toBe(withoutSequence(parts[i]!).toString('hex'));
      // The wire between gateway and SMSC carries the same bytes.
      expect(tap.up.some((s) => s.pdu.equals(got))).toBe(true);
    }

    // Each submit_sm_resp is the simulator's, with the ESME's sequence number put back.
    for (let i = 0; i < 2; i++) {
      const resp = resps[i]!;
      expect(resp.readUInt32BE(4)).toBe(Command.submit_sm_resp);
      expect(resp.readUInt32BE(8)).toBe(0);
      expect(resp.readUInt32BE(12)).toBe(parts[i]!.readUInt32BE(12));
      const fromSim = tap.answerTo(stack.sim.received[i]!)!;
      expect(fromSim).toBeDefined();
      expect(resp.length).toBe(fromSim.length);
      expect(withoutSequence(resp)).toEqual(withoutSequence(fromSim));
    }
  });

  it('forwards a data_sm with message_payload and an unknown TLV 0x3FFF unchanged', async () => {
    const { esme, stack, tap } = await setup();
    const payload = ucs2(`${TEXT} `.repeat(30)); // > 254 octets: only message_payload can carry it
    expect(payload.length).toBeGreaterThan(255);
    const pdu = encodePdu(
      Command.data_sm,
      0,
      0x42,
      {
        service_type: '',
        source_addr_ton: 0,
        source_addr_npi: 1,
        source_addr: '10690001',
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: '8613800138000',
        esm_class: 0,
        registered_delivery: 1,
        data_coding: 8,
      },
      [
        { tag: Tag.message_payload, value: payload },
        { tag: 0x3fff, value: Buffer.from([0x00, 0x01, 0x02, 0x00]) },
        { tag: 0x1400, value: Buffer.from('1101234567890123456') },
        { tag: Tag.sar_msg_ref_num, value: Buffer.from([0x12, 0x34]) },
      ],
    );
    const resp = await exchange(esme, pdu);
    expect(resp.readUInt32BE(4)).toBe(Command.data_sm_resp);
    expect(resp.readUInt32BE(8)).toBe(0);
    expect(resp.readUInt32BE(12)).toBe(0x42);

    expect(stack.sim.received).toHaveLength(1);
    const got = stack.sim.received[0]!;
    expect(got.readUInt32BE(4)).toBe(Command.data_sm);
    expect(withoutSequence(got).toString('hex')).toBe(withoutSequence(pdu).toString('hex'));
    const fromSim = tap.answerTo(got)!;
    expect(fromSim.readUInt32BE(4)).toBe(Command.data_sm_resp);
    expect(withoutSequence(resp)).toEqual(withoutSequence(fromSim));
  });

  it('forwards deliver_sm (receipt) from the SMSC to the ESME unchanged except the sequence number', async () => {
    const { esme, tap } = await setup();
    const submit = encodePdu(Command.submit_sm, 0, 5, {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '10690001',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '8613800138000',
      registered_delivery: 1,
      data_coding: 8,
      short_message: ucs2('😀'),
    });
    expect((await exchange(esme, submit)).readUInt32BE(8)).toBe(0);
    const [d] = await esme.waitDeliveries(1, 3000);
    await waitFor(() => tap.down.some((s) => s.pdu.readUInt32BE(4) === Command.deliver_sm), 1000, 'deliver_sm on the wire');
    const fromSim = tap.down.find((s) => s.pdu.readUInt32BE(4) === Command.deliver_sm)!.pdu;
    expect(withoutSequence(d!.raw)).toEqual(withoutSequence(fromSim));
  });
});
