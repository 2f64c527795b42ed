/**
 * The upstream listener's own duties, driven by a manual clock over in-memory links: the sweep that
 * drops connections that never bind and unbinds idle sessions, in-flight counting, and the upstream
 * half of graceful shutdown (stop accepting, unbind everyone, destroy who lingers).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodeEmpty } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { ManualClock } from '../../src/session/clock.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { UpstreamServer, type UpstreamOptions } from '../../src/upstream/server.js';
import { head, Peer, settle, silentLog, streamPair } from '../helpers/fake-link.js';
import { bindPdu, enquireLink, submitPdu } from '../helpers/pdus.js';
import { accountCfg, RecordingHandler } from './helpers.js';

let server: UpstreamServer | null = null;
afterEach(() => {
  server?.stopAccepting();
  server = null;
});

async function start(over: Partial<UpstreamOptions> = {}) {
  const clock = new ManualClock(5_000_000);
  const handler = new RecordingHandler();
  const accounts = new AccountTable([accountCfg()], clock.now());
  const s = new UpstreamServer(
    { host: '127.0.0.1', port: 0, maxPduLength: 4096, idleTimeoutS: 30, bindTimeoutS: 5, ...over },
    { accounts, handler, metrics: new Metrics(false), log: silentLog(), clock, gatewayId: 'smppguard', deliverTimeoutMs: 1000 },
  );
  server = s;
  const port = await s.listen();
  const connect = () => {
    const [near, far] = streamPair();
    const session = s.accept(near);
    return { session, esme: new Peer(far) };
  };
  const bound = async () => {
    const c = connect();
    c.esme.send(bindPdu('transceiver', 1, 'esme', 'secret'));
    expect(head(await c.esme.next()).status).toBe(0);
    return c;
  };
  return { s, port, clock, handler, connect, bound };
}

describe('UpstreamServer', () => {
  it('listens on an ephemeral port and tracks each accepted session until its connection closes', async () => {
    const { s, port, connect } = await start();
    expect(port).toBeGreaterThan(0);
    const a = connect();
    const b = connect();
    expect([...s.sessions]).toEqual([a.session, b.session]);
    a.esme.end();
    await a.esme.closed;
    await settle();
    expect([...s.sessions]).toEqual([b.session]);
  });

  it('drops a connection that has not bound within bind_timeout_s, checked every second', async () => {
    const { s, clock, connect } = await start({ bindTimeoutS: 5 });
    const { esme } = connect();
    clock.advance(5000); // quiet for exactly 5 s: not yet over
    await settle();
    expect(esme.isClosed).toBe(false);
    clock.advance(1000);
    await esme.closed;
    expect(esme.take()).toEqual([]);
    await settle();
    expect(s.sessions.size).toBe(0);
  });

  it('unbinds a bound session that sent nothing for idle_timeout_s; any PDU, enquire_link included, counts as activity', async () => {
    const { clock, bound } = await start({ idleTimeoutS: 30 });
    const { session, esme } = await bound();
    clock.advance(20_000);
    esme.send(enquireLink(2));
    await settle();
    expect(esme.take().map(head)).toEqual([{ length: 16, command: Command.enquire_link_resp, status: 0, sequence: 2 }]);
    clock.advance(30_000); // 30 s since the enquire_link: not over yet
    await settle();
    expect(esme.take()).toEqual([]);
    expect(session.state).toBe('BOUND');
    clock.advance(1000);
    await settle();
    const [u] = esme.take();
    expect(head(u!)).toMatchObject({ command: Command.unbind });
    expect(session.state).toBe('UNBINDING');
    esme.send(encodeEmpty(Command.unbind_resp, 0, head(u!).sequence));
    await esme.closed;
  });

  it('never unbinds for idleness with idle_timeout_s 0', async () => {
    const { clock, bound } = await start({ idleTimeoutS: 0 });
    const { session, esme } = await bound();
    clock.advance(600_000); // twenty times the default 30 s
    await settle();
    expect(esme.take()).toEqual([]);
    expect(session.state).toBe('BOUND');
  });

  it('counts submits in flight over every session', async () => {
    const { s, bound, handler } = await start();
    const a = await bound();
    const b = await bound();
    a.esme.send(submitPdu(1));
    a.esme.send(submitPdu(2));
    b.esme.send(submitPdu(1));
    await settle();
    expect(handler.submits).toHaveLength(3);
    expect(s.inFlight).toBe(3);
    a.session.settle();
    expect(s.inFlight).toBe(2);
  });

  it('stops accepting: new connections are closed, binds refused, bound sessions carry on', async () => {
    const { s, connect, bound, handler } = await start();
    const kept = await bound();
    const open = connect();
    s.stopAccepting();
    expect(s.draining).toBe(true);
    const late = connect();
    await late.esme.closed;
    open.esme.send(bindPdu('transmitter', 7, 'esme', 'secret'));
    expect(head(await open.esme.next())).toMatchObject({ status: Status.ESME_RBINDFAIL, sequence: 7 });
    kept.esme.send(submitPdu(3));
    await settle();
    expect(handler.submits.map((x) => head(x.pdu).sequence)).toEqual([3]);
  });

  it('unbindAll() unbinds every session and returns once they have all gone; the sweep stops', async () => {
    const { s, clock, bound, connect } = await start({ bindTimeoutS: 5 });
    const sessions = [await bound(), await bound()];
    // The ESMEs answer unbind as a well-behaved client does.
    for (const { esme } of sessions) {
      esme.stream.on('data', () => {
        for (const p of esme.take()) if (head(p).command === Command.unbind) esme.send(encodeEmpty(Command.unbind_resp, 0, head(p).sequence));
      });
    }
    await s.unbindAll(2000);
    expect(s.sessions.size).toBe(0);
    for (const { esme } of sessions) expect(esme.isClosed).toBe(true);
    const after = connect();
    clock.advance(60_000);
    await settle();
    expect(after.esme.isClosed).toBe(false);
  });

  it('unbindAll() destroys the sessions still there at its deadline', async () => {
    const { s, bound } = await start();
    const { session, esme } = await bound();
    await s.unbindAll(0);
    await esme.closed;
    expect(session.state).toBe('CLOSED');
  });
});
