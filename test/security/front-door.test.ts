/**
 * The front door (issue 16): what a peer that has not authenticated can cost the gateway. Real TCP
 * sockets against the upstream listener; time on a manual clock (the sweep, the log's minute).
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { configWarnings, parseConfig } from '../../src/config/load.js';
import { Command, isResponse } from '../../src/protocol/commands.js';
import { Framer } from '../../src/protocol/frame.js';
import { ManualClock } from '../../src/session/clock.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { PeerLog } from '../../src/telemetry/peer-log.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { UpstreamServer, type UpstreamOptions } from '../../src/upstream/server.js';
import { bindPdu, enquireLink, rawPdu } from '../helpers/pdus.js';
import { startGateway } from '../helpers/stack.js';
import { accountCfg, HASH, RecordingHandler } from '../upstream/helpers.js';

/** Log lines as JSON objects. */
class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const l of chunk.toString().split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  }
  about(ip: string): Record<string, unknown>[] {
    return this.lines.filter((l) => JSON.stringify(l).includes(ip));
  }
}

let server: UpstreamServer | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.stopAccepting();
  await server?.unbindAll(100);
  server = null;
});

async function start(over: Partial<UpstreamOptions> = {}) {
  const clock = new ManualClock(5_000_000);
  const capture = new LogCapture();
  const metrics = new Metrics(false);
  const s = new UpstreamServer(
    { host: '127.0.0.1', port: 0, maxPduLength: 4096, idleTimeoutS: 30, bindTimeoutS: 5, ...over },
    {
      accounts: new AccountTable([accountCfg({ allowed_ips: ['127.0.0.0/8'] })], clock.now()),
      handler: new RecordingHandler(),
      metrics,
      log: createLogger('info', capture),
      clock,
      gatewayId: 'smppguard',
      deliverTimeoutMs: 1000,
    },
  );
  server = s;
  const port = await s.listen();
  return { s, port, clock, capture, metrics };
}

/** A real client socket: PDUs that arrive, and whether the gateway closed it. */
class Client {
  readonly pdus: Buffer[] = [];
  closed = false;
  readonly opened: Promise<void>;
  constructor(
    port: number,
    localAddress = '127.0.0.1',
    readonly socket = connect({ host: '127.0.0.1', port, localAddress }),
  ) {
    sockets.push(socket);
    const framer = new Framer(1 << 20);
    socket.on('data', (c: Buffer) => framer.push(c, (p) => this.pdus.push(Buffer.from(p))));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
    this.opened = new Promise((r) => socket.once('connect', () => r()));
  }
  async until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('bounded telemetry', () => {
  it('20,000 junk PDUs on one unbound socket create no metric series beyond the fixed set and one log line', async () => {
    const { port, capture, metrics } = await start();
    const before = series(await metrics.text(), 'smppguard_pdus_total').length;
    const c = new Client(port);
    await c.opened;
    // Random command ids and statuses, header only; binds and unbind left out (they would end the connection).
    const ends = new Set<number>([Command.bind_receiver, Command.bind_transmitter, Command.bind_transceiver, Command.unbind]);
    const junk: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      let id = (Math.random() * 2 ** 32) >>> 0;
      if (ends.has(id)) id = 0x99;
      junk.push(rawPdu(id, i + 1, Buffer.alloc(0), (Math.random() * 2 ** 32) >>> 0));
    }
    c.socket.write(Buffer.concat(junk));
    c.socket.write(enquireLink(0x7fffffff));
    await c.until(() => c.pdus.some((p) => p.readUInt32BE(4) === Command.enquire_link_resp), 'the enquire_link_resp');
    expect(junk.filter((p) => !isResponse(p.readUInt32BE(4))).length).toBeGreaterThan(9000); // a real mix

    // Then a stream that cannot be framed (logged), and ten connections that bind with made-up system_ids.
    const bad = rawPdu(Command.enquire_link, 1);
    bad.writeUInt32BE(4, 0); // command_length 4: shorter than a header
    c.socket.write(bad);
    await c.until(() => c.closed, 'the unframeable connection to close');
    for (let i = 0; i < 10; i++) {
      const b = new Client(port);
      b.socket.write(bindPdu('transceiver', 1, `guess${i}`, 'pw'));
      await b.until(() => b.closed, 'the refused bind to close');
    }

    const text = await metrics.text();
    const pdus = series(text, 'smppguard_pdus_total');
    expect(pdus.length - before).toBeLessThan(100);
    expect(pdus.every((l) => /command="([a-z_]+)",status="(ESME_\w+|other)"/.test(l))).toBe(true);
    // Account labels only for configured accounts.
    expect(series(text, 'smppguard_bind_attempts_total').map((l) => /account="([^"]*)"/.exec(l)![1])).toEqual(['unknown']);
    // One line about 127.0.0.1 in the minute; the other ten counted.
    expect(capture.about('127.0.0.1')).toHaveLength(1);
    expect(text).toMatch(/^smppguard_log_lines_suppressed_total 10$/m);
  });

  it('the log limit: one line per IP per minute, the next says how many were held back; the IPs remembered are bounded', () => {
    const clock = new ManualClock(0);
    const capture = new LogCapture();
    let suppressed = 0;
    const log = new PeerLog(createLogger('info', capture), clock, { maxIps: 3, onSuppressed: () => suppressed++ });
    log.warn('10.0.0.1', { n: 1 }, 'x');
    log.warn('10.0.0.1', { n: 2 }, 'x');
    log.warn('10.0.0.1', { n: 3 }, 'x');
    clock.advance(59_999);
    log.warn('10.0.0.1', { n: 4 }, 'x');
    clock.advance(1);
    log.warn('10.0.0.1', { n: 5 }, 'x');
    expect(capture.lines.map((l) => [l.n, l.suppressed])).toEqual([
      [1, undefined],
      [5, 3],
    ]);
    expect(suppressed).toBe(3);
    for (let i = 2; i <= 9; i++) log.warn(`10.0.0.${i}`, {}, 'x');
    expect(log.size).toBe(3);
    // 10.0.0.1 was forgotten (oldest): its next line goes out at once.
    log.warn('10.0.0.1', { n: 6 }, 'x');
    expect(capture.lines.at(-1)!.n).toBe(6);
  });
});

describe('connection limits', () => {
  /** Opens `n` sockets from `from` in batches (the listen backlog) and waits until each is open or closed. */
  async function open(port: number, n: number, from = '127.0.0.1'): Promise<Client[]> {
    const all: Client[] = [];
    for (let i = 0; i < n; i += 250) {
      const batch = Array.from({ length: Math.min(250, n - i) }, () => new Client(port, from));
      await Promise.all(batch.map((c) => c.opened));
      all.push(...batch);
    }
    return all;
  }

  it('3,000 sockets from one IP leave at most max_connections_per_ip open; another IP still connects', async () => {
    const { s, port, capture, metrics } = await start();
    const clients = await open(port, 3000);
    await clients[0]!.until(() => clients.filter((c) => c.closed).length >= 2950, '2,950 refused connections to close', 20_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(clients.filter((c) => !c.closed)).toHaveLength(50);
    expect(s.sessions.size).toBe(50);
    // Refused before anything was read: no session was ever made for them, nothing answered.
    expect(clients.every((c) => c.pdus.length === 0)).toBe(true);
    const text = await metrics.text();
    expect(text).toMatch(/^smppguard_connections_refused_total\{reason="max_connections_per_ip"\} 2950$/m);
    expect(capture.about('127.0.0.1')).toHaveLength(1);

    // A second source IP is not affected: it connects and is answered.
    const [other] = await open(port, 1, '127.0.0.2');
    other!.socket.write(enquireLink(7));
    await other!.until(() => other!.pdus.length === 1, 'the enquire_link_resp');
    expect(other!.closed).toBe(false);

    // A refused connection's slot is not taken: closing one of the 50 lets one more in.
    clients.find((c) => !c.closed)!.socket.destroy();
    await clients[0]!.until(() => s.sessions.size === 50, 'the closed session to go');
    const [again] = await open(port, 1);
    again!.socket.write(enquireLink(8));
    await again!.until(() => again!.pdus.length === 1, 'the enquire_link_resp');
  });

  it('beyond max_connections over every IP, new connections are refused whatever their source', async () => {
    const { port, metrics } = await start({ maxConnections: 5, maxConnectionsPerIp: 3 });
    const a = await open(port, 3, '127.0.0.1');
    const b = await open(port, 3, '127.0.0.2');
    const c = await open(port, 1, '127.0.0.3');
    const all = [...a, ...b, ...c];
    await all[0]!.until(() => all.filter((x) => x.closed).length === 2, 'two refusals');
    expect(b.filter((x) => x.closed).length + c.filter((x) => x.closed).length).toBe(2);
    const text = await metrics.text();
    expect(text).toMatch(/^smppguard_connections_refused_total\{reason="max_connections"\} 2$/m);
  });
});

describe('bind deadline', () => {
  it('an unbound socket sending enquire_link every second is closed bind_timeout_s after accept', async () => {
    const { s, port, clock } = await start({ bindTimeoutS: 5 });
    const c = new Client(port);
    await c.opened;
    await c.until(() => s.sessions.size === 1, 'the session');
    for (let i = 1; i <= 5; i++) {
      clock.advance(1000);
      c.socket.write(enquireLink(i));
      await c.until(() => c.pdus.length === i, `enquire_link_resp ${i}`);
    }
    expect(c.closed).toBe(false); // 5 s after accept: not yet over
    clock.advance(1000); // the next sweep is past the deadline, however recent the last PDU
    await c.until(() => c.closed, 'the gateway to close it');
    expect(c.pdus).toHaveLength(5);
  });

  it('a bound session is not held to the bind deadline', async () => {
    const { s, port, clock } = await start({ bindTimeoutS: 5, idleTimeoutS: 0 });
    const c = new Client(port);
    c.socket.write(bindPdu('transceiver', 1, 'esme', 'secret'));
    await c.until(() => c.pdus.length === 1, 'the bind_resp');
    expect(c.pdus[0]!.readUInt32BE(8)).toBe(0);
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.closed).toBe(false);
    expect([...s.sessions][0]!.state).toBe('BOUND');
  });
});

describe('default deny', () => {
  const config = (ips: string | null) =>
    `accounts:\n  - system_id: acme\n    password_hash: "${HASH}"\n` +
    (ips === null ? '' : `    allowed_ips: ${ips}\n`) +
    `downstream:\n  smscs: [{ name: s, port: 1, system_id: gw, password: pw }]\n`;

  it('refuses a config with an account that has no allowed_ips (or an empty list), naming the account', () => {
    const why = 'accounts.0.allowed_ips: account "acme" has no allowed_ips: list the addresses it binds from (0.0.0.0/0 and ::/0 allow anyone; not recommended)';
    expect(() => parseConfig(config(null), 'gw.yaml')).toThrow(`gw.yaml:2:5: ${why}`); // at the account
    expect(() => parseConfig(config('[]'), 'gw.yaml')).toThrow(`gw.yaml:4:18: ${why}`); // at the empty list
    expect(configWarnings(parseConfig(config('[10.1.0.0/16, "2001:db8::/32"]')))).toEqual([]);
  });

  it('allows an explicit 0.0.0.0/0 or ::/0, and the gateway warns at start naming the account', async () => {
    expect(configWarnings(parseConfig(config('[0.0.0.0/0, "::/0", 10.0.0.1]')))).toEqual([
      { account: 'acme', message: 'account acme may bind from any address (allowed_ips: 0.0.0.0/0, ::/0)' },
    ]);
    const capture = new LogCapture();
    const stack = await startGateway(1, {
      waitBinds: false,
      gw: { log: createLogger('info', capture) },
      cfg: (c) => (c.accounts[1]!.allowed_ips = ['::/0']),
    });
    await stack.stop();
    const warned = capture.lines.filter((l) => String(l.msg).includes('may bind from any address'));
    expect(warned.map((l) => [l.level, l.account, l.msg])).toEqual([['warn', 'other', 'account other may bind from any address (allowed_ips: ::/0)']]);
  });
});
