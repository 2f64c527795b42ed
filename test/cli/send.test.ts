/**
 * `smppguard send` and `smppguard sim mo` against a live gateway with the simulator behind it (real
 * TCP, real Redis): receipts come back and are matched to their parts, long text goes out as a
 * concatenated message the SMSC receives with its UDH, TLVs and service_type pass through, a
 * refused message is reported with its status, and an MO injected through the simulator's control
 * API reaches the bound ESME. The built CLI runs as its own process for the table and JSON output.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, table, succeeded, type SendFlags } from '../../src/cli/send.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ sim: { httpPort: 0, record: true } });
});
afterAll(() => stack.stop());

const flags = (over: Partial<SendFlags> = {}): SendFlags => ({
  host: '127.0.0.1',
  port: stack.gw.smppPort,
  systemId: 'esme',
  passwordEnv: 'SMPP_PASSWORD',
  systemType: '',
  from: '1069001',
  to: ['8613800138001'],
  text: 'hello',
  coding: 'auto',
  sourceTon: 1,
  sourceNpi: 1,
  destTon: 1,
  destNpi: 1,
  serviceType: '',
  tlv: [],
  registeredDelivery: 1,
  count: 1,
  rate: 0,
  waitMs: 5000,
  timeoutMs: 5000,
  ...over,
});

/** The submit_sm PDUs the simulator received (behind the gateway). */
const submitsAtSmsc = () =>
  stack.sim.received
    .filter((p) => p.readUInt32BE(4) === Command.submit_sm)
    .map((p) => MessageView.parse(p))
    .filter((v): v is MessageView => !isScanError(v));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('send()', () => {
  it('submits to several destinations, count times each, and matches every receipt to its part', async () => {
    const parts = await send(flags({ to: ['8613800138001', '8613800138002'], count: 2, rate: 50 }), 'secret');
    expect(parts).toHaveLength(4);
    expect(parts.map((p) => p.to)).toEqual(['8613800138001', '8613800138002', '8613800138001', '8613800138002']);
    for (const p of parts) {
      expect(p.status).toBe(0);
      expect(p.message_id).not.toBe('');
      expect(p.receipt?.stat).toBe('DELIVRD');
    }
    expect(succeeded(parts, flags())).toBe(true);
    expect(table(parts).split('\n')[0]).toMatch(/^#\s+to\s+part\s+status\s+message_id\s+resp ms\s+receipt\s+receipt ms$/);
  });

  it('sends long text as a concatenated message: parts with one UDH reference, UCS-2 chosen for Chinese', async () => {
    const before = submitsAtSmsc().length;
    const text = '您好，这是一条很长的测试消息。'.repeat(6); // 90 characters: two UCS-2 parts
    const parts = await send(flags({ text, serviceType: 'MKT', tlv: [{ tag: 0x1400, value: Buffer.from('1234') }] }), 'secret');
    expect(parts.map((p) => [p.part, p.status, p.receipt?.stat])).toEqual([
      ['1/2', 0, 'DELIVRD'],
      ['2/2', 0, 'DELIVRD'],
    ]);
    const seen = submitsAtSmsc().slice(before);
    expect(seen).toHaveLength(2);
    for (const v of seen) {
      expect(v.dataCoding).toBe(8);
      expect(v.esmClass & 0x40).toBe(0x40);
      expect(v.serviceType).toBe('MKT');
      expect(v.tlvs.find((t) => t.tag === 0x1400)?.value.toString()).toBe('1234');
    }
    const udh = seen.map((v) => [...v.shortMessage.subarray(0, 6)]);
    expect(udh[0]!.slice(0, 5)).toEqual([5, 0, 3, udh[1]![3], 2]);
    expect([udh[0]![5], udh[1]![5]]).toEqual([1, 2]);
  });

  it('reports a refusal with its status; --expect makes that the success', async () => {
    stack.sim.setBehaviour({ errorStatus: Status.ESME_RTHROTTLED, errorRatio: 1 });
    try {
      const parts = await send(flags(), 'secret');
      expect(parts.map((p) => [p.status, p.status_name, p.receipt])).toEqual([[Status.ESME_RTHROTTLED, 'ESME_RTHROTTLED', null]]);
      expect(succeeded(parts, flags())).toBe(false);
      expect(succeeded(parts, flags({ expect: Status.ESME_RTHROTTLED }))).toBe(true);
      expect(table(parts)).toMatch(/ESME_RTHROTTLED \(0x58\)/);
    } finally {
      stack.sim.setBehaviour({ errorStatus: 0, errorRatio: 0 });
    }
  });

  it('a wrong password fails the bind with its status', async () => {
    await expect(send(flags(), 'nope')).rejects.toThrow(/bind_transceiver as "esme" refused: ESME_R/);
  });
});

describe('the CLI', () => {
  it('send --json: the password from $SMPP_PASSWORD, every part with its receipt, exit 0', async () => {
    const r = await run(
      ['send', '--port', String(stack.gw.smppPort), '-u', 'esme', '-f', '1069001', '-t', '8613800138009', '--text', 'Your code is 1234', '--json', '--wait-ms', '5000'],
      { SMPP_PASSWORD: 'secret' },
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { ok: boolean; parts: { status_name: string; receipt: { stat: string } }[] };
    expect(out.ok).toBe(true);
    expect(out.parts.map((p) => [p.status_name, p.receipt.stat])).toEqual([['ESME_ROK', 'DELIVRD']]);
  });

  it('send without a password says where to put it; sim mo injects an MO the bound ESME receives', async () => {
    const none = await run(['send', '--port', String(stack.gw.smppPort), '-u', 'esme', '-f', '1', '-t', '2', '--text', 'x']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give --password, or the password in \$SMPP_PASSWORD/);

    const esme = await stack.esme('receiver');
    const r = await run(['sim', 'mo', '--api', `http://127.0.0.1:${stack.sim.httpPort}`, '--from', '8613800138001', '--to', '1069001', '--text', 'TD']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('MO 8613800138001 -> 1069001 delivered to a bound gateway\n');
    await waitFor(() => esme.deliveries.some((d) => d.view.shortMessage.toString() === 'TD'), 3000, 'the MO at the ESME');
  });
});
