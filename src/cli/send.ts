/**
 * `smppguard send`: a test ESME on the command line. Binds as an account (transceiver, so receipts
 * come back on the same bind; TLS when asked), submits one or many messages — text with the coding
 * chosen automatically (GSM 7-bit or UCS-2) and split with a concatenation UDH when long, or raw hex
 * — paced by --rate, waits for the delivery receipts, and prints every answer and receipt as a
 * table or JSON. Exit 0 when every part got the expected answer (ESME_ROK, or --expect) and, for
 * accepted parts, its receipt when one was asked; 1 otherwise; 2 for bad options or a failed bind.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command as Program } from 'commander';
import type { ConnectionOptions } from 'node:tls';
import { Command } from '../protocol/commands.js';
import { messageIdCandidates, parseReceiptText, receiptMessageId } from '../protocol/receipt.js';
import { segmentText, type TextCoding } from '../protocol/segment.js';
import { Status, statusName } from '../protocol/status.js';
import { Tag, type Tlv } from '../protocol/tlv.js';
import { connect, type Delivery, type EsmeClient } from '../sim/esme-client.js';
import { parseStatusArg } from './smsc-sim.js';

export interface SendFlags {
  host: string;
  port: number;
  systemId: string;
  password?: string;
  passwordEnv: string;
  systemType: string;
  tls?: boolean;
  ca?: string;
  insecure?: boolean;
  from: string;
  to: string[];
  text?: string;
  hex?: string;
  coding: 'auto' | TextCoding;
  sourceTon?: number;
  sourceNpi?: number;
  destTon: number;
  destNpi: number;
  serviceType: string;
  tlv: Tlv[];
  registeredDelivery: number;
  count: number;
  rate: number;
  waitMs: number;
  timeoutMs: number;
  expect?: number;
  json?: boolean;
}

/** One submitted part and what became of it. */
export interface SentPart {
  n: number;
  to: string;
  part: string;
  status: number;
  status_name: string;
  message_id: string;
  ms: number;
  receipt: { stat: string; err: string; ms: number } | null;
}

const int = (min: number, max: number, what: string) => (v: string) => {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${what} ${min}..${max}`);
  return n;
};

/** `--tlv 0x1400=31323334` or `--tlv user_message_reference=0001` (value in hex). */
export function parseTlv(v: string, prev: Tlv[] = []): Tlv[] {
  const eq = v.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('expected TAG=HEX, e.g. 0x1400=31323334 or user_message_reference=0001');
  const name = v.slice(0, eq);
  const hex = v.slice(eq + 1);
  const tag = /^0x[0-9a-f]{1,4}$/i.test(name) ? parseInt(name, 16) : (Tag as Record<string, number>)[name];
  if (tag === undefined) throw new InvalidArgumentError(`unknown TLV ${name}: give its tag as 0x…`);
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new InvalidArgumentError(`TLV ${name}: value must be hex octets`);
  return [...prev, { tag, value: Buffer.from(hex, 'hex') }];
}

function hexBody(v: string): Buffer {
  const h = v.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(h)) throw new InvalidArgumentError('--hex needs hex octets');
  return Buffer.from(h, 'hex');
}

/** What each message is made of: its short_messages, data_coding and esm_class. */
function messageParts(f: SendFlags, ref: number): { dataCoding: number; esmClass: number; parts: Buffer[] } {
  if (f.hex !== undefined) return { dataCoding: f.coding === 'ucs2' ? 8 : 4, esmClass: 0, parts: [hexBody(f.hex)] };
  const s = segmentText(f.text ?? '', { coding: f.coding === 'auto' ? undefined : f.coding, ref });
  return { dataCoding: s.dataCoding, esmClass: s.esmClass, parts: s.parts };
}

function tlsOptions(f: SendFlags): ConnectionOptions | undefined {
  if (!f.tls) return undefined;
  return { ca: f.ca ? readFileSync(f.ca) : undefined, rejectUnauthorized: !f.insecure, servername: /^[\d.:]+$/.test(f.host) ? undefined : f.host };
}

/** Binds, sends, waits; the parts in order. Throws on a failed connect or bind. */
export async function send(f: SendFlags, password: string): Promise<SentPart[]> {
  const esme: EsmeClient = await connect(f.host, f.port, { tls: tlsOptions(f), requestTimeoutMs: f.timeoutMs });
  try {
    const bound = await esme.bind('transceiver', f.systemId, password);
    if (bound !== 0) throw new Error(`bind_transceiver as "${f.systemId}" refused: ${statusName(bound)}`);
    const sent: SentPart[] = [];
    const byId = new Map<string, SentPart>();
    const t0 = Date.now();
    const receiptAt = new Map<SentPart, number>();
    esme.onDeliver((d: Delivery) => {
      if (!d.view.isReceipt) return;
      const r = parseReceiptText(d.view.shortMessage.toString('latin1'));
      const id = receiptMessageId(d.view.tlvs, d.view.shortMessage);
      if (!id) return;
      for (const c of messageIdCandidates(id)) {
        const p = byId.get(c);
        if (p && !p.receipt) {
          p.receipt = { stat: r?.stat ?? '?', err: r?.err ?? '', ms: Date.now() - (receiptAt.get(p) ?? t0) };
          break;
        }
      }
    });
    const interval = f.rate > 0 ? 1000 / f.rate : 0;
    const inFlight: Promise<void>[] = [];
    let n = 0;
    let due = Date.now();
    for (let i = 0; i < f.count; i++) {
      for (const to of f.to) {
        const { dataCoding, esmClass, parts } = messageParts(f, (n + i) & 0xff);
        for (let p = 0; p < parts.length; p++) {
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          due += interval;
          const row: SentPart = { n: ++n, to, part: `${p + 1}/${parts.length}`, status: -1, status_name: '', message_id: '', ms: 0, receipt: null };
          sent.push(row);
          const start = Date.now();
          inFlight.push(
            esme
              .submit(
                {
                  service_type: f.serviceType,
                  source_addr_ton: f.sourceTon ?? (/^\+?\d+$/.test(f.from) ? (f.from.startsWith('+') ? 1 : 0) : 5),
                  source_addr_npi: f.sourceNpi ?? (/^\+?\d+$/.test(f.from) ? 1 : 0),
                  source_addr: f.from.replace(/^\+/, ''),
                  dest_addr_ton: f.destTon,
                  dest_addr_npi: f.destNpi,
                  destination_addr: to,
                  esm_class: esmClass,
                  registered_delivery: f.registeredDelivery,
                  data_coding: dataCoding,
                  short_message: parts[p]!,
                },
                f.tlv,
                Command.submit_sm,
              )
              .then(
                (r) => {
                  row.status = r.status;
                  row.status_name = statusName(r.status);
                  row.message_id = r.messageId;
                  row.ms = Date.now() - start;
                  receiptAt.set(row, start);
                  if (r.status === 0 && r.messageId) for (const c of messageIdCandidates(r.messageId)) byId.set(c, row);
                },
                () => {
                  row.status_name = 'no answer';
                  row.ms = Date.now() - start;
                },
              ),
          );
        }
      }
    }
    await Promise.all(inFlight);
    // Receipts for the accepted parts, when asked for (registered_delivery bit 0/1 set).
    if ((f.registeredDelivery & 0x03) !== 0 && f.waitMs > 0) {
      const deadline = Date.now() + f.waitMs;
      const waiting = () => sent.some((p) => p.status === 0 && p.receipt === null);
      while (waiting() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    await esme.unbind().catch(() => undefined);
    return sent;
  } finally {
    if (esme.isOpen) await esme.close();
  }
}

/** The parts as a readable table. */
export function table(parts: SentPart[]): string {
  const rows = [
    ['#', 'to', 'part', 'status', 'message_id', 'resp ms', 'receipt', 'receipt ms'],
    ...parts.map((p) => [
      String(p.n),
      p.to,
      p.part,
      p.status < 0 ? p.status_name : `${p.status_name} (0x${p.status.toString(16).padStart(2, '0')})`,
      p.message_id || '-',
      String(p.ms),
      p.receipt ? `${p.receipt.stat}${p.receipt.err && p.receipt.err !== '000' ? ` err:${p.receipt.err}` : ''}` : p.status === 0 ? '(none)' : '-',
      p.receipt ? String(p.receipt.ms) : '-',
    ]),
  ];
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(w[c]!)).join('  ').trimEnd()).join('\n');
}

/** Whether the run did what was asked: every part answered as expected, receipts arrived when asked. */
export function succeeded(parts: SentPart[], f: Pick<SendFlags, 'expect' | 'registeredDelivery' | 'waitMs'>): boolean {
  const want = f.expect ?? Status.ESME_ROK;
  const receipts = (f.registeredDelivery & 0x03) !== 0 && f.waitMs > 0;
  return parts.every((p) => p.status === want && (p.status !== 0 || !receipts || p.receipt !== null));
}

export function registerSend(program: Program): void {
  program
    .command('send')
    .description('bind as an account and submit test messages; wait for their receipts and print them')
    .option('--host <host>', 'the gateway (or any SMSC); default $SMPP_HOST or 127.0.0.1', process.env.SMPP_HOST ?? '127.0.0.1')
    .option('--port <n>', 'SMPP port; default $SMPP_PORT or 2775', int(1, 65535, 'a port'), process.env.SMPP_PORT ? Number(process.env.SMPP_PORT) : 2775)
    .requiredOption('-u, --system-id <id>', 'account to bind as')
    .option('-p, --password <pw>', 'password (better: the variable named by --password-env)')
    .option('--password-env <name>', 'environment variable holding the password', 'SMPP_PASSWORD')
    .option('--system-type <type>', 'system_type in the bind', '')
    .option('--tls', 'connect over TLS (the listener on listen.tls.port)')
    .option('--ca <file>', 'CA certificate (PEM) to verify the gateway with (default: the system CAs)')
    .option('--insecure', 'TLS without verifying the certificate (tests only)')
    .requiredOption('-f, --from <addr>', 'source_addr')
    .requiredOption('-t, --to <addr...>', 'destination_addr (several: one message to each)')
    .option('--text <text>', 'message text: GSM 7-bit when it fits, else UCS-2; split with a UDH when long')
    .option('--hex <octets>', 'short_message as hex octets instead of text (data_coding 4, or 8 with --coding ucs2)')
    .option('--coding <c>', 'auto | gsm7 | ucs2', (v) => {
      if (!['auto', 'gsm7', 'ucs2'].includes(v)) throw new InvalidArgumentError('expected auto, gsm7 or ucs2');
      return v;
    }, 'auto')
    .option('--source-ton <n>', 'source_addr_ton (default: 5 for a name, 1 for +digits, else 0 as short codes are sent)', int(0, 255, 'a TON'))
    .option('--source-npi <n>', 'source_addr_npi (default: 1 for digits, 0 for a name)', int(0, 255, 'an NPI'))
    .option('--dest-ton <n>', 'dest_addr_ton', int(0, 255, 'a TON'), 1)
    .option('--dest-npi <n>', 'dest_addr_npi', int(0, 255, 'an NPI'), 1)
    .option('--service-type <type>', 'service_type', '')
    .option('--tlv <tag=hex>', 'an optional parameter (repeatable), e.g. 0x1400=31323334', parseTlv, [])
    .option('--registered-delivery <n>', 'registered_delivery (1: receipt on final state; 0: none)', int(0, 255, 'a value'), 1)
    .option('-n, --count <n>', 'messages per destination', int(1, 1_000_000, 'a count'), 1)
    .option('--rate <n>', 'submits per second (0: as fast as answers come)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a rate >= 0');
      return n;
    }, 10)
    .option('--wait-ms <ms>', 'how long to wait for receipts after the last answer', int(0, 3_600_000, 'ms'), 30_000)
    .option('--timeout-ms <ms>', 'how long to wait for each answer', int(1, 600_000, 'ms'), 10_000)
    .option('--expect <status>', 'the answer expected for every part (default ESME_ROK), e.g. ESME_RSUBMITFAIL or 0x45', (v) => {
      const code = (Status as Record<string, number>)[v];
      return code ?? parseStatusArg(v);
    })
    .option('--json', 'print JSON (one object with every part) instead of a table')
    .addHelpText(
      'after',
      `
Examples:
  $ SMPP_PASSWORD=demo smppguard send -u demo -f 1069001 -t 8613800138001 --text "Your code is 1234"
  $ smppguard send -u demo -p demo -f 1069001 -t 8613800138001 --text "长消息 …" --count 5 --rate 2 --json
  $ smppguard send -u demo -p demo -f 10690999 -t 8613800138001 --text hi --expect ESME_RINVSRCADR
`,
    )
    .action(async (f: SendFlags) => {
      if ((f.text === undefined) === (f.hex === undefined)) {
        process.stderr.write('give --text or --hex (one of them)\n');
        process.exit(2);
      }
      const password = f.password ?? process.env[f.passwordEnv];
      if (password === undefined) {
        process.stderr.write(`give --password, or the password in $${f.passwordEnv}\n`);
        process.exit(2);
      }
      let parts: SentPart[];
      try {
        parts = await send(f, password);
      } catch (err) {
        process.stderr.write(`smppguard send: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const ok = succeeded(parts, f);
      process.stdout.write(f.json ? `${JSON.stringify({ ok, parts }, null, 2)}\n` : `${table(parts)}\n`);
      process.exitCode = ok ? 0 : 1;
    });
}
