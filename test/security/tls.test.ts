/**
 * issue 16, TLS: SMPP over TLS for ESMEs (listen.tls: client certificates none/optional/require,
 * per-account require_tls and tls_subject), certificates reloaded without dropping binds, HTTPS for
 * the metrics/admin port (http.tls), over real
 * sockets, a real gateway and the real Redis, with certificates made by openssl for the run
 * (test/helpers/tls-certs.ts).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountSchema, ConfigSchema, type Config } from '../../src/config/schema.js';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { stringify } from 'yaml';
import { freePort } from '../../src/sim/free-port.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { processConfig, secretHash, sm, startStack, waitFor, type Stack } from '../helpers/stack.js';
import { TestPki, type Cert } from '../helpers/tls-certs.js';

let pki: TestPki;
let server: Cert;
let partner: Cert;
let stranger: Cert;
let untrusted: Cert;
const logs: Record<string, unknown>[] = [];

function logSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
}

beforeAll(() => {
  pki = new TestPki();
  server = pki.issue('server', '/CN=gw.test', 'server');
  partner = pki.issue('partner', '/CN=partner.test/O=Partner', 'client');
  stranger = pki.issue('stranger', '/CN=stranger.test/O=Partner', 'client');
  // Same subject as the partner's, but from a CA the gateway does not trust.
  const other = new TestPki('other-ca');
  untrusted = other.issue('untrusted', '/CN=partner.test/O=Partner', 'client');
});
afterAll(() => pki.remove());

/** A gateway with a TLS listener next to the plain one, and accounts that want TLS. */
async function tlsStack(clientAuth: 'none' | 'optional' | 'require'): Promise<Stack> {
  const hash = await secretHash();
  return startStack({
    gw: { log: pino({ level: 'info' }, logSink()) },
    cfg: (c: Config) => {
      c.listen.tls = { port: 0, cert: server.cert, key: server.key, ca: pki.ca.cert, client_auth: clientAuth, min_version: 'TLSv1.2' };
      c.accounts.push(
        AccountSchema.parse({ system_id: 'secure', password_hash: hash, allowed_ips: ['127.0.0.0/8'], require_tls: true }),
        AccountSchema.parse({ system_id: 'pinned', password_hash: hash, allowed_ips: ['127.0.0.0/8'], tls_subject: 'CN=partner.test, O=Partner' }),
      );
    },
  });
}

/** Connects over TLS trusting the test CA, optionally with a client certificate. */
function tlsEsme(s: Stack, client?: Cert, extra: ConnectionOptions = {}): Promise<EsmeClient> {
  const tls: ConnectionOptions = { ca: pki.read(pki.ca.cert), servername: 'localhost', ...extra };
  if (client) Object.assign(tls, { cert: pki.read(client.cert), key: pki.read(client.key) });
  return connect('127.0.0.1', s.gw.smppTlsPort, { tls });
}

/**
 * How a connection the server refuses in the handshake ends: TLS 1.3 lets the client finish its side
 * before the server checks the certificate, so the refusal may come as an alert after "connect".
 */
async function refusedHandshake(p: Promise<EsmeClient>): Promise<string> {
  return p.then(
    (c) => {
      c.send(Buffer.from('00000010000000150000000000000001', 'hex')); // enquire_link: never answered
      return c.closed;
    },
    (e: Error) => e.message,
  );
}

function refusals(systemId: string): string[] {
  return logs.filter((l) => l.msg === 'bind refused' && l.system_id === systemId).map((l) => String(l.why));
}

describe('SMPP over TLS, client certificates optional', () => {
  let s: Stack;
  const clients: EsmeClient[] = [];
  beforeAll(async () => {
    s = await tlsStack('optional');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await s.stop();
  });
  const open = async (p: Promise<EsmeClient>) => {
    const c = await p;
    clients.push(c);
    return c;
  };

  it('listens on its own port next to the plain one', () => {
    expect(s.gw.smppTlsPort).toBeGreaterThan(0);
    expect(s.gw.smppTlsPort).not.toBe(s.gw.smppPort);
  });

  it('binds over TLS without a client certificate, and carries traffic', async () => {
    const c = await open(tlsEsme(s));
    expect(await c.bind('transceiver', 'esme', 'secret')).toBe(0);
    const answer = await c.request(Command.enquire_link);
    expect(answer.readUInt32BE(4)).toBe(Command.enquire_link_resp);
    const session = [...s.gw.upstream.sessions].find((x) => x.state === 'BOUND' && x.tls !== null);
    expect(session?.tls).toMatchObject({ authorized: false, subject: null });
  });

  it('binds over TLS with a client certificate, verified against the CA', async () => {
    const before = new Set(s.gw.upstream.sessions);
    const c = await open(tlsEsme(s, partner));
    expect(await c.bind('transmitter', 'esme', 'secret')).toBe(0);
    const session = [...s.gw.upstream.sessions].find((x) => !before.has(x));
    expect(session?.tls?.authorized).toBe(true);
    expect(session?.tls?.subject).toMatchObject({ CN: 'partner.test', O: 'Partner' });
  });

  it('require_tls: a plain bind is refused (ESME_RBINDFAIL, logged); over TLS the account binds', async () => {
    const plain = await open(connect('127.0.0.1', s.gw.smppPort));
    expect(await plain.bind('transceiver', 'secure', 'secret')).toBe(Status.ESME_RBINDFAIL);
    expect(await plain.closed).toBe('peer closed');
    expect(refusals('secure')).toEqual(['account requires TLS; bind came over plain TCP']);
    const overTls = await open(tlsEsme(s));
    expect(await overTls.bind('transceiver', 'secure', 'secret')).toBe(0);
    // A wrong password over plain TCP gets the one answer of every authentication failure, not the TLS refusal: that comes after it.
    const guess = await open(connect('127.0.0.1', s.gw.smppPort));
    expect(await guess.bind('transceiver', 'secure', 'wrong')).toBe(Status.ESME_RBINDFAIL);
    expect(refusals('secure')).toEqual(['account requires TLS; bind came over plain TCP', 'bad password']);
  });

  it('tls_subject: only a verified certificate with that subject binds the account', async () => {
    const right = await open(tlsEsme(s, partner));
    expect(await right.bind('transceiver', 'pinned', 'secret')).toBe(0);

    const none = await open(tlsEsme(s));
    expect(await none.bind('transceiver', 'pinned', 'secret')).toBe(Status.ESME_RBINDFAIL);
    const wrongSubject = await open(tlsEsme(s, stranger));
    expect(await wrongSubject.bind('transceiver', 'pinned', 'secret')).toBe(Status.ESME_RBINDFAIL);
    // The right subject from a CA the gateway does not trust (accepted by client_auth: optional, not verified).
    const forged = await open(tlsEsme(s, untrusted));
    expect(await forged.bind('transceiver', 'pinned', 'secret')).toBe(Status.ESME_RBINDFAIL);
    const plain = await open(connect('127.0.0.1', s.gw.smppPort));
    expect(await plain.bind('transceiver', 'pinned', 'secret')).toBe(Status.ESME_RBINDFAIL);

    const why = refusals('pinned');
    expect(why).toHaveLength(4);
    expect(why[0]).toMatch(/no client certificate does not match tls_subject/);
    expect(why[1]).toMatch(/stranger\.test.*does not match/);
    expect(why[2]).toMatch(/not verified: .*does not match/);
    expect(why[3]).toBe('account requires TLS; bind came over plain TCP');
  });
});

describe('SMPP over TLS, client certificates required', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await tlsStack('require');
  });
  afterAll(() => s.stop());

  it('refuses a connection without a client certificate during the handshake', async () => {
    const sessionsBefore = s.gw.upstream.sessions.size;
    // TLS 1.3 finishes the client's side of the handshake before the server checks its certificate:
    // the refusal then arrives as an alert that ends the connection.
    const outcome = await refusedHandshake(tlsEsme(s));
    expect(outcome).toMatch(/certificate required/);
    expect(s.gw.upstream.sessions.size).toBe(sessionsBefore);
  });

  it('refuses a certificate from a CA it does not trust', async () => {
    const sessionsBefore = s.gw.upstream.sessions.size;
    // Closed (with an "unknown ca" alert, which may race the close) without ever reaching a session.
    expect(await refusedHandshake(tlsEsme(s, untrusted))).toMatch(/unknown ca|peer closed/);
    expect(s.gw.upstream.sessions.size).toBe(sessionsBefore);
  });

  it('binds with a client certificate', async () => {
    const c = await tlsEsme(s, partner);
    expect(await c.bind('transceiver', 'pinned', 'secret')).toBe(0);
    await c.close();
  });
});

/** The serial number of the certificate a new TLS connection to `port` is shown. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, ca: pki.read(pki.ca.cert), servername: 'localhost' }, () => {
      const serial = sock.getPeerCertificate().serialNumber;
      sock.destroy();
      resolve(serial);
    });
    sock.on('error', reject);
  });
}

describe('certificate rotation', () => {
  let s: Stack;
  let files: { cert: string; key: string };
  let first: Cert;
  beforeAll(async () => {
    // Files of its own, replaced during the test (the other suites share `server`).
    files = { cert: join(pki.dir, 'rotating.crt'), key: join(pki.dir, 'rotating.key') };
    first = pki.issue('rotating', '/CN=gw.test', 'server', files);
    s = await startStack({
      gw: { log: pino({ level: 'info' }, logSink()) },
      cfg: (c) => {
        c.listen.tls = { port: 0, ...files, client_auth: 'none', min_version: 'TLSv1.2' };
      },
    });
  });
  afterAll(() => s.stop());

  /** Issues a new certificate elsewhere and moves it over the configured files (as certbot or a secret mount does). */
  function rotate(name: string): Cert {
    const next = pki.issue(name, '/CN=gw.test', 'server');
    copyFileSync(next.key, `${files.key}.new`);
    copyFileSync(next.cert, `${files.cert}.new`);
    renameSync(`${files.key}.new`, files.key);
    renameSync(`${files.cert}.new`, files.cert);
    return next;
  }

  it('a new certificate is picked up when the files change, and an established bind keeps working', async () => {
    const bound = await tlsEsme(s);
    expect(await bound.bind('transceiver', 'esme', 'secret')).toBe(0);
    expect(await servedSerial(s.gw.smppTlsPort)).toBe(first.serial);

    const second = rotate('second');
    // fs.watch, then a debounce: poll until new connections are shown the new certificate.
    let seen = first.serial;
    const deadline = Date.now() + 10_000;
    while (seen !== second.serial && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await servedSerial(s.gw.smppTlsPort);
    }
    expect(seen).toBe(second.serial);
    expect(logs.some((l) => l.msg === 'TLS: certificate reloaded' && l.serial === second.serial && l.listener === 'smpp')).toBe(true);

    // The bind made under the old certificate is still up and carries traffic.
    expect(bound.isOpen).toBe(true);
    expect((await bound.request(Command.enquire_link)).readUInt32BE(4)).toBe(Command.enquire_link_resp);
    expect((await bound.submit(sm({ destination_addr: '8613800000001' }))).status).toBe(0);
    await bound.close();
  });

  it('a Kubernetes secret update (a symlink swap naming neither file) is picked up', async () => {
    // A secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/; an update writes a new
    // directory and renames a new ..data link over the old one.
    const dir = join(pki.dir, 'secret');
    mkdirSync(join(dir, '..v1'), { recursive: true });
    const v1 = pki.issue('secret-v1', '/CN=gw.test', 'server', { cert: join(dir, '..v1', 'tls.crt'), key: join(dir, '..v1', 'tls.key') });
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
    symlinkSync(join('..data', 'tls.key'), join(dir, 'tls.key'));
    const k = await startStack({
      cfg: (c) => {
        c.listen.tls = { port: 0, cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), client_auth: 'none', min_version: 'TLSv1.2' };
      },
    });
    try {
      expect(await servedSerial(k.gw.smppTlsPort)).toBe(v1.serial);
      mkdirSync(join(dir, '..v2'));
      const v2 = pki.issue('secret-v2', '/CN=gw.test', 'server', { cert: join(dir, '..v2', 'tls.crt'), key: join(dir, '..v2', 'tls.key') });
      symlinkSync('..v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      let seen = v1.serial;
      const deadline = Date.now() + 10_000;
      while (seen !== v2.serial && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await servedSerial(k.gw.smppTlsPort);
      }
      expect(seen).toBe(v2.serial);
      expect(k.gw.upstream.certs?.failures).toBe(0);
    } finally {
      await k.stop();
    }
  });

  it('SIGHUP (reloadCertificates) uses the new files at once; bad new files keep the certificate in use', async () => {
    const bound = await tlsEsme(s);
    expect(await bound.bind('transceiver', 'esme', 'secret')).toBe(0);
    const third = rotate('third');
    expect(s.gw.reloadCertificates()).toBe(true);
    expect(await servedSerial(s.gw.smppTlsPort)).toBe(third.serial);

    // A certificate whose key is not the configured key's, then a file that is no certificate at all.
    const errorsBefore = logs.filter((l) => l.msg === 'TLS: cannot load the new certificate; keeping the one in use').length;
    copyFileSync(pki.issue('mismatched', '/CN=gw.test', 'server').cert, files.cert);
    expect(s.gw.reloadCertificates()).toBe(false);
    expect(await servedSerial(s.gw.smppTlsPort)).toBe(third.serial);
    writeFileSync(files.cert, 'not a certificate\n');
    expect(s.gw.reloadCertificates()).toBe(false);
    expect(await servedSerial(s.gw.smppTlsPort)).toBe(third.serial);
    const errors = logs.filter((l) => l.msg === 'TLS: cannot load the new certificate; keeping the one in use');
    expect(errors.length).toBeGreaterThanOrEqual(errorsBefore + 2);
    expect(errors.at(-1)).toMatchObject({ level: 50, listener: 'smpp', cert: files.cert });

    expect(bound.isOpen).toBe(true);
    expect((await bound.request(Command.enquire_link)).readUInt32BE(4)).toBe(Command.enquire_link_resp);
    await bound.close();
  });
});

interface HttpsAnswer {
  status: number;
  body: string;
  serial: string;
}

/** GET over HTTPS trusting the test CA, optionally with a client certificate. */
function httpsGetOnce(port: number, path: string, client?: Cert): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca: pki.read(pki.ca.cert),
        ...(client ? { cert: pki.read(client.cert), key: pki.read(client.key) } : {}),
        agent: false,
      },
      (res) => {
        const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      },
    );
    req.on('error', reject);
  });
}

it('the CLI reloads the certificates on SIGHUP, keeping the bind (needs npm run build)', async () => {
  const sim = await startSimulator({ port: 0 });
  const [smppPort, tlsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const files = { cert: join(pki.dir, 'cli.crt'), key: join(pki.dir, 'cli.key') };
  const first = pki.issue('cli', '/CN=gw.test', 'server', files);
  const log = join(pki.dir, 'cli-gateway.log');
  const config = join(pki.dir, 'cli-gateway.yaml');
  const base = processConfig(smppPort, httpPort, `test:${Date.now().toString(36)}:`, 'info');
  writeFileSync(
    config,
    stringify({
      ...base,
      listen: { ...(base.listen as object), plain: false, tls: { port: tlsPort, ...files } },
      audit: { destination: 'off' },
      policy: { enabled: false },
      accounts: [{ system_id: 'esme', password_hash: await secretHash(), allowed_ips: ['127.0.0.0/8'], require_tls: true }],
      downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: sim.port, system_id: 'gw', password: 'pw' }] },
    }),
  );
  const cli = join(process.cwd(), 'dist/src/cli/main.js');
  const gw = spawn(process.execPath, [cli, 'start', '--config', config], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  const reloaded = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('TLS: certificate reloaded')) : []);
  try {
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('smppguard listening'), 20_000, 'the gateway to start');
    const bound = await connect('127.0.0.1', tlsPort, { tls: { ca: pki.read(pki.ca.cert), servername: 'localhost' } });
    expect(await bound.bind('transceiver', 'esme', 'secret')).toBe(0);
    expect(await servedSerial(tlsPort)).toBe(first.serial);
    // Files rewritten in place, then SIGHUP: whichever comes first (watch or signal), both reload.
    const next = pki.issue('cli-next', '/CN=gw.test', 'server');
    copyFileSync(next.key, files.key);
    copyFileSync(next.cert, files.cert);
    await waitFor(() => reloaded().length >= 1, 5000, 'a reload after the files changed');
    const before = reloaded().length;
    gw.kill('SIGHUP');
    // Nothing changed on disk since: only the signal can cause this reload.
    await waitFor(() => reloaded().length > before, 5000, 'the SIGHUP reload');
    expect(reloaded().at(-1)).toContain(`"serial":"${next.serial}"`);
    expect(await servedSerial(tlsPort)).toBe(next.serial);
    expect((await bound.request(Command.enquire_link)).readUInt32BE(4)).toBe(Command.enquire_link_resp);
    await bound.close();
  } finally {
    gw.kill('SIGKILL');
    await sim.close();
  }
});

describe('HTTPS for the metrics and admin port (http.tls)', () => {
  let s: Stack;
  let files: { cert: string; key: string };
  let first: Cert;
  beforeAll(async () => {
    files = { cert: join(pki.dir, 'http.crt'), key: join(pki.dir, 'http.key') };
    first = pki.issue('http', '/CN=gw.test', 'server', files);
    s = await startStack({
      gw: { log: pino({ level: 'info' }, logSink()) },
      cfg: (c) => {
        c.http.tls = { ...files, ca: pki.ca.cert, client_auth: 'require', min_version: 'TLSv1.2' };
      },
    });
  });
  afterAll(() => s.stop());

  it('serves /metrics over HTTPS to a client with a certificate', async () => {
    const r = await httpsGetOnce(s.gw.httpPort, '/metrics', partner);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^smppguard_/m);
    expect(r.serial).toBe(first.serial);
  });

  it('refuses a client without a certificate (client_auth: require), and says nothing in clear', async () => {
    await expect(httpsGetOnce(s.gw.httpPort, '/metrics')).rejects.toThrow();
    await expect(httpsGetOnce(s.gw.httpPort, '/metrics', untrusted)).rejects.toThrow();
    const clear = await new Promise<string>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port: s.gw.httpPort, path: '/metrics', agent: false }, (res) => resolve(`HTTP ${res.statusCode}`));
      req.on('error', (e) => resolve(e.message));
    });
    expect(clear).not.toMatch(/^HTTP 200/);
  });

  it('reloads its certificate on SIGHUP (reloadCertificates), as the SMPP listener does', async () => {
    const next = pki.issue('http-next', '/CN=gw.test', 'server');
    copyFileSync(next.key, files.key);
    copyFileSync(next.cert, files.cert);
    expect(s.gw.reloadCertificates()).toBe(true);
    const r = await httpsGetOnce(s.gw.httpPort, '/metrics', partner);
    expect(r.status).toBe(200);
    expect(r.serial).toBe(next.serial);
    expect(logs.some((l) => l.msg === 'TLS: certificate reloaded' && l.listener === 'http' && l.serial === next.serial)).toBe(true);
  });
});

describe('TLS-only deployment (listen.plain: false)', () => {
  it('opens no plain listener', async () => {
    const s = await startStack({
      cfg: (c) => {
        c.listen.plain = false;
        c.listen.tls = { port: 0, cert: server.cert, key: server.key, client_auth: 'none', min_version: 'TLSv1.3' };
      },
    });
    try {
      expect(s.gw.smppPort).toBe(s.gw.smppTlsPort);
      const c = await tlsEsme(s);
      expect(await c.bind('transceiver', 'esme', 'secret')).toBe(0);
      await c.close();
      // min_version TLSv1.3: a TLS 1.2 client is refused.
      await expect(tlsEsme(s, undefined, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
      // The plain port given in config was never opened: the gateway has one SMPP listener, the TLS one.
      const plainAttempt = await new Promise<string>((resolve) => {
        const sock = netConnect({ host: '127.0.0.1', port: s.gw.smppTlsPort }, () => {
          sock.write(Buffer.from('00000010000000150000000000000001', 'hex'));
        });
        sock.on('data', () => resolve('answered in clear'));
        sock.on('error', () => resolve('refused'));
        sock.on('close', () => resolve('closed'));
      });
      expect(plainAttempt).not.toBe('answered in clear');
    } finally {
      await s.stop();
    }
  });
});

describe('config', () => {
  const account = { system_id: 'a', password_hash: '', allowed_ips: ['127.0.0.1'] };
  const tls = { cert: 'c.pem', key: 'k.pem' };
  const parse = async (raw: Record<string, unknown>) => {
    const hash = await secretHash();
    const accounts = (raw.accounts as (typeof account)[] | undefined)?.map((a) => ({ ...a, password_hash: hash }));
    return ConfigSchema.safeParse({ ...raw, ...(accounts ? { accounts } : {}) });
  };

  it('defaults: plain listener on, no TLS; listen.tls port 3550, client_auth none, TLSv1.2', async () => {
    const c = ConfigSchema.parse({});
    expect(c.listen.plain).toBe(true);
    expect(c.listen.tls).toBeUndefined();
    expect(c.http.tls).toBeUndefined();
    expect(ConfigSchema.parse({ listen: { tls } }).listen.tls).toEqual({ ...tls, port: 3550, client_auth: 'none', min_version: 'TLSv1.2' });
  });

  it('refuses a config that listens nowhere, or accounts that want TLS without a TLS listener', async () => {
    expect((await parse({ listen: { plain: false } })).error?.message).toMatch(/nothing to listen on/);
    expect((await parse({ accounts: [{ ...account, require_tls: true }] })).error?.message).toMatch(/account a binds only over TLS but listen.tls is not set/);
    expect((await parse({ listen: { tls }, accounts: [{ ...account, tls_subject: 'CN=x' }] })).error?.message).toMatch(/client_auth is none/);
    expect((await parse({ listen: { tls: { ...tls, client_auth: 'require' } }, accounts: [{ ...account, tls_subject: 'nonsense' }] })).success).toBe(false);
    expect((await parse({ listen: { tls: { ...tls, client_auth: 'require' } }, accounts: [{ ...account, tls_subject: 'CN=x, O=y' }] })).success).toBe(true);
    expect((await parse({ listen: { tls: { ...tls, min_version: 'TLSv1.1' } } })).success).toBe(false);
  });
});
