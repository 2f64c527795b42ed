/**
 * One bind to one SMSC over an in-memory link with a manual clock: the bind it sends (password from
 * config or the environment), bind refusal and bind deadline, reconnect with backoff, enquire_link
 * both ways with dead-link detection, the request window with sequence rewriting and response
 * timeouts, what the SMSC may send, and stopping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodeEmpty, encodePdu, genericNack } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { ManualClock } from '../../src/session/clock.js';
import { backoffMs, SmscLink, type LinkTimings } from '../../src/downstream/smsc-link.js';
import type { SmscConfig } from '../../src/config/schema.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { head, settle, silentLog, valueOf } from '../helpers/fake-link.js';
import { deliverResp, enquireLink, moPdu, rawPdu, submitPdu, submitResp, unbindPdu } from '../helpers/pdus.js';
import { acceptBind, bindFields, dialler, smscCfg } from './helpers.js';

const TIMINGS: LinkTimings = {
  response_timeout_ms: 1000,
  enquire_link_s: 30,
  bind_timeout_ms: 2000,
  reconnect_initial_ms: 100,
  reconnect_max_ms: 1000,
};

function rig(cfg: Partial<SmscConfig> & Record<string, unknown> = {}, timings: Partial<LinkTimings> = {}) {
  const clock = new ManualClock(0);
  const metrics = new Metrics(false);
  const { dial, dials } = dialler();
  const delivered: Buffer[] = [];
  let ready = 0;
  const link = new SmscLink(smscCfg(cfg), 0, {
    metrics,
    log: silentLog(),
    clock,
    timings: { ...TIMINGS, ...timings },
    maxPduLength: 4096,
    onDeliver: (_l, pdu) => void delivered.push(Buffer.from(pdu)),
    onReady: () => void ready++,
    dial,
  });
  return {
    link,
    clock,
    metrics,
    dials,
    delivered,
    get ready() {
      return ready;
    },
    /** Starts the link and completes its first bind. */
    async bound() {
      link.start();
      await acceptBind(dials[0]!);
      expect(link.state).toBe('BOUND');
      return dials[0]!.smsc;
    },
  };
}

/** A request the link forwards, recording what it is told. */
function pending() {
  const results: { resp: Buffer | null; status: number }[] = [];
  return { results, req: { onResult: (resp: Buffer | null, status: number) => void results.push({ resp: resp && Buffer.from(resp), status }), sentAt: 0 } };
}

const ENV_NAME = 'SG_UNIT_SMSC_PW';
afterEach(() => {
  delete process.env[ENV_NAME];
});

describe('backoffMs', () => {
  it('doubles from the initial delay up to the maximum, jittered to 50–100 %', () => {
    const lo = () => 0;
    const hi = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000, lo))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000, hi))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffMs(2, 100, 1000, () => 0.5)).toBe(300);
  });

  it('stays at the maximum for any number of attempts', () => {
    expect(backoffMs(1000, 500, 30_000, () => 0)).toBe(15_000);
    expect(backoffMs(Number.MAX_SAFE_INTEGER, 500, 30_000, () => 0.999999)).toBe(30_000);
  });
});

describe('connect and bind', () => {
  it('sends the configured bind with system_id, password, system_type and interface_version 0x34 once connected', async () => {
    const r = rig({ system_id: 'gwid', password: 'pw8chars', system_type: 'VMA', bind: 'transmitter' });
    r.link.start();
    expect(r.link.state).toBe('CONNECTING');
    expect(r.dials).toHaveLength(1);
    await settle();
    expect(r.dials[0]!.smsc.take()).toEqual([]); // nothing before the connection is up
    const bind = await acceptBind(r.dials[0]!);
    expect(head(bind)).toMatchObject({ command: Command.bind_transmitter, status: 0, sequence: 1 });
    expect(bindFields(bind)).toEqual({ system_id: 'gwid', password: 'pw8chars', system_type: 'VMA', interface_version: 0x34 });
    expect(r.link.state).toBe('BOUND');
    expect(r.link.isBound).toBe(true);
    expect(r.link.available).toBe(true);
    expect(r.ready).toBe(1);
    expect(await valueOf(r.metrics.smscLinkUp, { smsc: 'smsc', link: '0' })).toBe(1);
    expect(r.link.name).toBe('smsc#0');
  });

  it('binds as receiver when configured so', async () => {
    const r = rig({ bind: 'receiver' });
    r.link.start();
    expect(head(await acceptBind(r.dials[0]!)).command).toBe(Command.bind_receiver);
  });

  it('takes the password from the variable named by password_env', async () => {
    process.env[ENV_NAME] = 'fromenv';
    const r = rig({ password: undefined, password_env: ENV_NAME });
    r.link.start();
    expect(bindFields(await acceptBind(r.dials[0]!)).password).toBe('fromenv');
  });

  it('prefers password over password_env, and never binds with an empty password when the variable is unset or empty (issue 16)', async () => {
    process.env[ENV_NAME] = 'fromenv';
    const both = rig({ password: 'inline', password_env: ENV_NAME });
    both.link.start();
    expect(bindFields(await acceptBind(both.dials[0]!)).password).toBe('inline');
    for (const value of [undefined, '']) {
      if (value === undefined) delete process.env[ENV_NAME];
      else process.env[ENV_NAME] = value;
      const unset = rig({ password: undefined, password_env: ENV_NAME });
      unset.link.start();
      unset.dials[0]!.connected();
      await unset.dials[0]!.smsc.closed; // dropped: no bind went out
      expect(unset.dials[0]!.smsc.take()).toEqual([]);
      expect(unset.link.state).not.toBe('BOUND');
    }
  });

  it('reads the password_env variable at each bind, so a rotated secret is used on reconnect', async () => {
    process.env[ENV_NAME] = 'first';
    const r = rig({ password: undefined, password_env: ENV_NAME });
    r.link.start();
    expect(bindFields(await acceptBind(r.dials[0]!)).password).toBe('first');
    process.env[ENV_NAME] = 'second';
    const smsc = r.dials[0]!.smsc;
    smsc.end();
    await smsc.closed;
    await settle();
    r.clock.advance(100);
    expect(bindFields(await acceptBind(r.dials[1]!)).password).toBe('second');
  });

  it('start() does nothing on a link already started', async () => {
    const r = rig();
    await r.bound();
    r.link.start();
    expect(r.dials).toHaveLength(1);
  });

  it('closes a refused bind and connects again after the backoff', async () => {
    const r = rig();
    r.link.start();
    await acceptBind(r.dials[0]!, Status.ESME_RINVPASWD);
    await r.dials[0]!.smsc.closed;
    await settle();
    expect(r.link.state).toBe('DISCONNECTED');
    expect(r.link.available).toBe(false);
    r.clock.advance(49); // first retry: 50–100 ms
    expect(r.dials).toHaveLength(1);
    r.clock.advance(51);
    expect(r.dials).toHaveLength(2);
    expect(r.link.state).toBe('CONNECTING');
    expect(await valueOf(r.metrics.smscLinkUp, { smsc: 'smsc', link: '0' })).toBe(0);
  });

  it('drops a connection whose bind is not answered within bind_timeout_ms', async () => {
    const r = rig({}, { bind_timeout_ms: 2000 });
    r.link.start();
    r.dials[0]!.connected();
    await settle();
    expect(r.link.state).toBe('BINDING');
    r.clock.advance(1999);
    await settle();
    expect(r.dials[0]!.smsc.isClosed).toBe(false);
    r.clock.advance(1);
    await r.dials[0]!.smsc.closed;
    await settle();
    expect(r.link.state).toBe('DISCONNECTED');
    expect(await valueOf(r.metrics.sessionsClosed, { side: 'downstream', reason: 'bind timeout' })).toBe(1);
  });

  it('backs off longer after each failed attempt and starts over once a bind succeeds', async () => {
    const r = rig({}, { reconnect_initial_ms: 100, reconnect_max_ms: 1000 });
    r.link.start();
    // Connections that fail before connecting (refused): 50–100, 100–200, 200–400 ms.
    const bounds = [
      [50, 100],
      [100, 200],
      [200, 400],
    ];
    for (const [i, [min, max]] of bounds.entries()) {
      r.dials[i]!.socket.destroy(new Error('ECONNREFUSED'));
      await settle();
      expect(r.link.state).toBe('DISCONNECTED');
      r.clock.advance(min! - 1);
      expect(r.dials).toHaveLength(i + 1);
      r.clock.advance(max! - min! + 1);
      expect(r.dials).toHaveLength(i + 2);
    }
    await acceptBind(r.dials[3]!);
    expect(r.link.state).toBe('BOUND');
    r.dials[3]!.smsc.end();
    await r.dials[3]!.smsc.closed;
    await settle();
    r.clock.advance(100); // back to the first step
    expect(r.dials).toHaveLength(5);
  });
});

describe('keepalive', () => {
  it('sends enquire_link every enquire_link_s and keeps a link that answers', async () => {
    const r = rig({}, { enquire_link_s: 30, response_timeout_ms: 1000 });
    const smsc = await r.bound();
    r.clock.advance(29_999);
    await settle();
    expect(smsc.take()).toEqual([]);
    for (let round = 0; round < 3; round++) {
      r.clock.advance(round === 0 ? 1 : 29_000); // to 30 s, 60 s, 90 s after the bind
      await settle();
      const [e] = smsc.take();
      expect(head(e!)).toMatchObject({ command: Command.enquire_link, length: 16 });
      smsc.send(encodeEmpty(Command.enquire_link_resp, 0, head(e!).sequence));
      await settle();
      r.clock.advance(1000); // past the answer's deadline
      await settle();
      expect(r.link.state).toBe('BOUND');
    }
  });

  it('declares the link dead when enquire_link is not answered within response_timeout_ms, and reconnects', async () => {
    const r = rig({}, { enquire_link_s: 10, response_timeout_ms: 500 });
    const smsc = await r.bound();
    r.clock.advance(10_000);
    await settle();
    expect(head(smsc.take()[0]!).command).toBe(Command.enquire_link);
    r.clock.advance(499);
    await settle();
    expect(smsc.isClosed).toBe(false);
    r.clock.advance(1);
    await smsc.closed;
    await settle();
    expect(r.link.state).toBe('DISCONNECTED');
    expect(await valueOf(r.metrics.sessionsClosed, { side: 'downstream', reason: 'keepalive timeout' })).toBe(1);
    r.clock.advance(100);
    expect(r.dials).toHaveLength(2);
  });

  it("does not take an answer to another sequence as the keepalive's", async () => {
    const r = rig({}, { enquire_link_s: 10, response_timeout_ms: 500 });
    const smsc = await r.bound();
    r.clock.advance(10_000);
    await settle();
    const seq = head(smsc.take()[0]!).sequence;
    smsc.send(encodeEmpty(Command.enquire_link_resp, 0, seq + 100));
    await settle();
    r.clock.advance(500);
    await smsc.closed;
  });

  it("answers the SMSC's enquire_link with its sequence", async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.send(enquireLink(4242));
    await settle();
    expect(smsc.take()).toEqual([encodeEmpty(Command.enquire_link_resp, 0, 4242)]);
  });
});

describe('requests through the link', () => {
  it("rewrites the sequence in place to the link's own, and hands back the SMSC's response", async () => {
    const r = rig();
    const smsc = await r.bound();
    const { results, req } = pending();
    const pdu = submitPdu(31337, { registered_delivery: 1 });
    const original = Buffer.from(pdu);
    expect(r.link.submit(pdu, req)).toBe(true);
    expect(r.link.inFlight).toBe(1);
    await settle();
    const [sent] = smsc.take();
    expect(head(sent!).sequence).toBe(2); // 1 was the bind
    expect(sent!.subarray(16)).toEqual(original.subarray(16));
    expect(sent!.subarray(0, 12)).toEqual(original.subarray(0, 12));
    expect(pdu.readUInt32BE(12)).toBe(2); // rewritten in place: the caller restores the ESME's
    const readyBefore = r.ready;
    smsc.send(submitResp(2, 0, 'SMSC-ID-9'));
    await settle();
    expect(results).toEqual([{ resp: submitResp(2, 0, 'SMSC-ID-9'), status: 0 }]);
    expect(r.link.inFlight).toBe(0);
    expect(r.ready).toBe(readyBefore + 1);
  });

  it('passes an error response on with its status', async () => {
    const r = rig();
    const smsc = await r.bound();
    const { results, req } = pending();
    r.link.submit(submitPdu(1), req);
    smsc.send(submitResp(2, Status.ESME_RTHROTTLED));
    await settle();
    expect(results).toEqual([{ resp: submitResp(2, Status.ESME_RTHROTTLED), status: Status.ESME_RTHROTTLED }]);
  });

  it('turns a generic_nack into no response and its status (ESME_RSYSERR when it carries none)', async () => {
    const r = rig();
    const smsc = await r.bound();
    const a = pending();
    const b = pending();
    r.link.submit(submitPdu(1), a.req);
    r.link.submit(submitPdu(2), b.req);
    smsc.send(genericNack(Status.ESME_RINVCMDLEN, 2));
    smsc.send(genericNack(0, 3));
    await settle();
    expect(a.results).toEqual([{ resp: null, status: Status.ESME_RINVCMDLEN }]);
    expect(b.results).toEqual([{ resp: null, status: Status.ESME_RSYSERR }]);
  });

  it('refuses requests when not bound, and when its window is full until a response frees it', async () => {
    const r = rig({ window: 2 });
    const { req } = pending();
    expect(r.link.submit(submitPdu(1), req)).toBe(false);
    const smsc = await r.bound();
    expect(r.link.submit(submitPdu(1), req)).toBe(true);
    expect(r.link.submit(submitPdu(2), req)).toBe(true);
    expect(r.link.available).toBe(false);
    expect(r.link.submit(submitPdu(3), req)).toBe(false);
    await settle();
    expect(smsc.take()).toHaveLength(2);
    smsc.send(submitResp(2, 0, 'a'));
    await settle();
    expect(r.link.available).toBe(true);
    expect(r.link.submit(submitPdu(3), req)).toBe(true);
  });

  it('fails a request not answered within response_timeout_ms with ESME_RSYSERR and counts the late answer', async () => {
    const r = rig({}, { response_timeout_ms: 1000 });
    const smsc = await r.bound();
    const { results, req } = pending();
    r.link.submit(submitPdu(1), req);
    r.clock.advance(1000);
    expect(results).toEqual([]);
    r.clock.advance(1);
    expect(results).toEqual([{ resp: null, status: Status.ESME_RSYSERR }]);
    expect(await valueOf(r.metrics.smscTimeouts, { smsc: 'smsc' })).toBe(1);
    expect(r.link.inFlight).toBe(0);
    smsc.send(submitResp(2, 0, 'late'));
    await settle();
    expect(results).toHaveLength(1);
    expect(await valueOf(r.metrics.lateResponses, { side: 'downstream' })).toBe(1);
    expect(r.link.state).toBe('BOUND');
  });

  it('fails everything in flight with ESME_RSYSERR when the link is lost', async () => {
    const r = rig();
    const smsc = await r.bound();
    const { results, req } = pending();
    r.link.submit(submitPdu(1), req);
    r.link.submit(submitPdu(2), req);
    smsc.stream.destroy();
    await settle();
    expect(results).toEqual([
      { resp: null, status: Status.ESME_RSYSERR },
      { resp: null, status: Status.ESME_RSYSERR },
    ]);
    expect(r.link.state).toBe('DISCONNECTED');
    expect(r.link.inFlight).toBe(0);
  });

  it('is not available while the SMSC is not reading, and says so again once the backlog drains', async () => {
    const r = rig({ window: 10_000 });
    const smsc = await r.bound();
    smsc.stream.pause();
    const { req } = pending();
    for (let i = 0; i < 400; i++) r.link.submit(submitPdu(i, { short_message: 'x'.repeat(100) }), req);
    await settle();
    expect(r.link.available).toBe(false);
    expect(r.link.submit(submitPdu(999), req)).toBe(false);
    const readyBefore = r.ready;
    smsc.stream.resume();
    await settle(20);
    expect(r.link.available).toBe(true);
    expect(r.ready).toBeGreaterThan(readyBefore);
    expect(smsc.take()).toHaveLength(400);
  });
});

describe('what the SMSC sends', () => {
  it('hands deliver_sm and data_sm to onDeliver and answers through respond() with the SMSC sequence', async () => {
    const r = rig();
    const smsc = await r.bound();
    const mo = moPdu(700, '8613800138000', '10690001');
    const data = encodePdu(Command.data_sm, 0, 701, { source_addr: '8613800138000', destination_addr: '10690001' });
    smsc.send(mo);
    smsc.send(data);
    await settle();
    expect(r.delivered).toEqual([mo, data]);
    expect(smsc.take()).toEqual([]); // answered by the relay, not the link
    r.link.respond(Command.deliver_sm, 0, 700);
    r.link.respond(Command.data_sm, Status.ESME_RX_T_APPN, 701);
    await settle();
    expect(smsc.take()).toEqual([deliverResp(700, 0), encodeEmpty(Command.data_sm_resp, Status.ESME_RX_T_APPN, 701)]);
  });

  it('refuses deliver_sm before the bind completes with ESME_RINVBNDSTS', async () => {
    const r = rig();
    r.link.start();
    r.dials[0]!.connected();
    await settle();
    const smsc = r.dials[0]!.smsc;
    smsc.take();
    smsc.send(moPdu(5, '1', '2'));
    await settle();
    expect(smsc.take()).toEqual([encodeEmpty(Command.deliver_sm_resp, Status.ESME_RINVBNDSTS, 5)]);
    expect(r.delivered).toEqual([]);
  });

  it('ignores alert_notification (it has no response) and answers other requests with generic_nack', async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.send(rawPdu(Command.alert_notification, 8));
    smsc.send(submitPdu(9));
    smsc.send(rawPdu(Command.bind_transceiver, 10));
    await settle();
    expect(smsc.take()).toEqual([genericNack(Status.ESME_RINVCMDID, 9), genericNack(Status.ESME_RINVCMDID, 10)]);
    expect(await valueOf(r.metrics.malformed, { side: 'downstream', reason: 'unexpected_command' })).toBe(2);
    expect(r.link.state).toBe('BOUND');
  });

  it("answers the SMSC's unbind, closes and reconnects", async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.send(unbindPdu(77));
    await smsc.closed;
    expect(smsc.take()).toEqual([encodeEmpty(Command.unbind_resp, 0, 77)]);
    await settle();
    expect(r.link.state).toBe('DISCONNECTED');
    r.clock.advance(100);
    expect(r.dials).toHaveLength(2);
  });

  it('closes a stream it cannot frame after generic_nack ESME_RINVCMDLEN, and reconnects', async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.sendRaw(Buffer.from('00000004000000050000000000000011', 'hex'));
    await smsc.closed;
    expect(smsc.take()).toEqual([genericNack(Status.ESME_RINVCMDLEN, 0x11)]);
    expect(await valueOf(r.metrics.malformed, { side: 'downstream', reason: 'unframeable' })).toBe(1);
    await settle();
    r.clock.advance(100);
    expect(r.dials).toHaveLength(2);
  });
});

describe('stop', () => {
  it('unbinds a bound link, waits for the unbind_resp and never reconnects', async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.stream.on('data', () => {
      for (const p of smsc.take()) if (head(p).command === Command.unbind) smsc.send(encodeEmpty(Command.unbind_resp, 0, head(p).sequence));
    });
    await r.link.stop(1000);
    expect(r.link.state).toBe('STOPPED');
    expect(smsc.isClosed).toBe(true);
    r.clock.advance(60_000);
    expect(r.dials).toHaveLength(1);
  });

  it('waits for responses in flight before unbinding', async () => {
    const r = rig();
    const smsc = await r.bound();
    const { results, req } = pending();
    r.link.submit(submitPdu(1), req);
    await settle();
    smsc.take();
    const stopped = r.link.stop(1000);
    await settle();
    expect(smsc.take()).toEqual([]); // no unbind while a response is due
    smsc.send(submitResp(2, 0, 'done'));
    smsc.stream.on('data', () => {
      for (const p of smsc.take()) if (head(p).command === Command.unbind) smsc.send(encodeEmpty(Command.unbind_resp, 0, head(p).sequence));
    });
    await stopped;
    expect(results.map((x) => x.status)).toEqual([0]);
    expect(r.link.state).toBe('STOPPED');
  });

  it('cancels a pending reconnect', async () => {
    const r = rig();
    r.link.start();
    r.dials[0]!.socket.destroy();
    await settle();
    await r.link.stop(100);
    r.clock.advance(10_000);
    expect(r.dials).toHaveLength(1);
    expect(r.link.state).toBe('STOPPED');
  });

  it('respond() on a closed link sends nothing and does not throw', async () => {
    const r = rig();
    const smsc = await r.bound();
    smsc.stream.destroy();
    await settle();
    expect(() => r.link.respond(Command.deliver_sm, 0, 1)).not.toThrow();
  });
});
