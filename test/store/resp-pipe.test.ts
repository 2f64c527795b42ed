/**
 * The hot path's plain-command connection (store/resp-pipe.ts): replies in order against the real
 * Redis on 127.0.0.1:6379, reply framing split at every byte (a scripted peer on loopback), and
 * the outage behaviour on a private redis-server (frozen, stopped, password, database).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { bulk, command, RespError, RespPipe, RespWriter, type RespValue } from '../../src/store/resp-pipe.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';
import { BUCKET_BITS, Keys } from '../../src/store/keys.js';

const PREFIX = `test:pipe:${process.pid}:${randomBytes(4).toString('hex')}:`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(pipe: RespPipe, cmds: string[][]): Promise<{ err: Error | null; values: RespValue[] | null }> {
  return new Promise((resolve) => pipe.send(cmds.map((c) => command(...c)).join(''), cmds.length, (err, values) => resolve({ err, values })));
}

describe('RespPipe on the shared Redis', () => {
  let pipe: RespPipe;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    pipe = new RespPipe('redis://127.0.0.1:6379', 2000);
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
  });
  afterAll(async () => {
    pipe.close();
    await clearKeys(redis, `${PREFIX}*`);
    redis.disconnect();
  });

  it('answers every reply type in order, an error reply in its own slot only', async () => {
    await redis.hset(`${PREFIX}h`, '品牌', '【签名】', 'a', '1');
    await redis.set(`${PREFIX}s`, 'x');
    const r = await send(pipe, [
      ['HINCRBY', `${PREFIX}n`, 'f', '1'],
      ['HMGET', `${PREFIX}h`, 'a', 'missing', '品牌'],
      ['HMGET', `${PREFIX}none`, 'a', 'b'],
      ['HINCRBY', `${PREFIX}s`, 'f', '1'], // WRONGTYPE
      ['SISMEMBER', `${PREFIX}none`, '1'],
      ['GET', `${PREFIX}s`],
      ['GET', `${PREFIX}none`],
      ['PING'],
      ['HINCRBY', `${PREFIX}n`, 'f', '-5'],
    ]);
    expect(r.err).toBeNull();
    const v = r.values!;
    expect(v.slice(0, 3)).toEqual([1, ['1', null, '【签名】'], [null, null]]);
    expect(v[3]).toBeInstanceOf(RespError);
    expect(String((v[3] as RespError).message)).toMatch(/WRONGTYPE/);
    expect(v.slice(4)).toEqual([0, 'x', null, 'PONG', -4]);
  });

  it('writes a batch through RespWriter across its buffers, any name at any boundary', async () => {
    // Over 64 KB (several buffers), bulks of every length, some not ASCII (their length is put right), raw or not.
    const w = new RespWriter();
    const names: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const name = `${PREFIX}w:${'x'.repeat(i % 97)}${i % 5 === 0 ? '品牌' : ''}:${i}`;
      names.push(name);
      w.raw('*4\r\n$7\r\nHINCRBY\r\n');
      // Every third name as raw text (bulk() counts its UTF-8 bytes), the others through the writer's bulk().
      if (i % 3 === 0) w.raw(bulk(name));
      else w.bulk(name);
      w.bulk(i % 7 === 0 ? 'fé' : 'f');
      w.raw(bulk(String(i)));
    }
    const chunks = w.take();
    expect(chunks.length).toBeGreaterThan(1);
    const values = await new Promise<RespValue[] | null>((r) => pipe.send(chunks, 3000, (_e, v) => r(v)));
    expect(values).toEqual(names.map((_, i) => i));
    expect(await redis.hget(names[10]!, 'f')).toBe('10');
    expect(await redis.hget(names[35]!, 'fé')).toBe('35');
  });

  it('keeps many batches in flight and answers each with its own replies', async () => {
    const batches = Array.from({ length: 300 }, (_, b) => Array.from({ length: 1 + (b % 40) }, () => ['HINCRBY', `${PREFIX}many`, String(b), '1']));
    const all = await Promise.all(batches.map((cmds) => send(pipe, cmds)));
    all.forEach((r, b) => expect(r.values).toEqual(Array.from({ length: 1 + (b % 40) }, (_, i) => i + 1)));
  });
});

/** Answers the pipe's setup PING (its first write), as Redis does; the rest is the test's to answer. */
function answerSetupPing(s: import('node:net').Socket): void {
  s.once('data', () => s.write('+PONG\r\n'));
  s.on('data', () => undefined);
}

/** A peer that answers each batch it is told about with `replies`, written in the chunks given. */
async function scriptedPeer(): Promise<{ server: Server; port: number; answer: (chunks: Buffer[]) => Promise<void> }> {
  let client: import('node:net').Socket | null = null;
  const server = createServer((s) => {
    client = s;
    answerSetupPing(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    answer: async (chunks) => {
      await waitFor(() => client !== null, 5000, 'the peer to see the pipe');
      for (const c of chunks) {
        client!.write(c);
        await sleep(2); // separate reads
      }
    },
  };
}

describe('RespWriter', () => {
  it('writes exactly the text given, across buffer boundaries, for raw text and bulks alike', () => {
    for (const mix of ['raw', 'bulk', 'both'] as const) {
      const w = new RespWriter();
      let expected = '';
      for (let i = 0; i < 3000; i++) {
        const s = `${'y'.repeat(i % 50)}${i % 9 === 0 ? 'é品' : ''}:${i}`;
        if (mix === 'raw' || (mix === 'both' && i % 2 === 0)) {
          w.raw(`*1\r\n${bulk(s)}`);
          expected += `*1\r\n${bulk(s)}`;
        } else {
          w.bulk(s);
          expected += bulk(s);
        }
      }
      const chunks = w.take();
      expect(chunks.length, mix).toBeGreaterThan(1);
      expect(Buffer.concat(chunks).toString('utf8') === expected, mix).toBe(true);
    }
  });

  it('writes batch after batch into one buffer: a batch taken keeps its bytes while the next ones are written', () => {
    const w = new RespWriter();
    const taken: { chunks: Buffer[]; text: string }[] = [];
    // ~2,000 small batches, as the policy check sends one a turn: several 64 KB buffers in all.
    for (let b = 0; b < 2000; b++) {
      let text = '';
      for (let i = 0; i <= b % 7; i++) {
        const s = `k:${b}:${i}${b % 11 === 0 ? '品' : ''}`;
        w.bulk(s);
        text += bulk(s);
      }
      taken.push({ chunks: w.take(), text });
    }
    // Nothing written later overwrote an earlier batch (the socket may still hold its views).
    for (const t of taken) expect(Buffer.concat(t.chunks).toString('utf8')).toBe(t.text);
    // Shared, not one buffer per batch: the 2,000 batches' views sit on a handful of buffers.
    const buffers = new Set(taken.flatMap((t) => t.chunks.map((c) => c.buffer)));
    expect(buffers.size).toBeLessThan(10);
    expect(w.take()).toEqual([]);
  });

  it('bulkKey writes the key layout\'s keys as bulk() writes them made, whatever the prefix and bucket', () => {
    for (const prefix of ['sg:', '', 'a-long-prefix-of-a-shared-redis:tenant-7:', 'клиент:', '品:']) {
      const keys = new Keys(prefix);
      const w = new RespWriter();
      let expected = '';
      for (const bucket of [0, 7, 9, 10, 99, 100, 12345, 8_613_800, 2 ** 40 + 3]) {
        for (const category of [null, 3]) {
          const c = category === null ? '' : `:c${category}`;
          w.bulkKey(keys.dndHead, bucket, '}:g12', c);
          w.bulkKey(keys.dndHead, bucket, '}:op', c);
          expected += bulk(keys.dnd(bucket, 12, category)) + bulk(keys.dndOperator(bucket, category));
        }
        const msisdn = String(bucket * 2 ** BUCKET_BITS + 5);
        if (msisdn.length <= 15) {
          w.bulkKey(keys.consentHead, bucket, '}:', msisdn);
          expected += bulk(keys.consent(msisdn));
        }
      }
      expect(Buffer.concat(w.take()).toString('utf8'), JSON.stringify(prefix)).toBe(expected);
    }
  });
});

describe('RespPipe reply framing', () => {
  it('reads replies split at every byte, across batch boundaries, and the batch after', async () => {
    const first = ':7\r\n*3\r\n$1\r\na\r\n$-1\r\n$6\r\n品牌\r\n$-1\r\n-ERR no\r\n+OK\r\n';
    const second = ':-12\r\n*0\r\n$0\r\n\r\n';
    const third = ':3\r\n';
    const bytes = Buffer.from(first + second, 'utf8');
    for (let k = 1; k < bytes.length; k++) {
      const peer = await scriptedPeer();
      const pipe = new RespPipe(`redis://127.0.0.1:${peer.port}`, 2000);
      await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
      const a = new Promise<RespValue[] | null>((r) => pipe.send(command('X'), 5, (_e, v) => r(v)));
      const b = new Promise<RespValue[] | null>((r) => pipe.send(command('Y'), 3, (_e, v) => r(v)));
      await peer.answer([bytes.subarray(0, k), bytes.subarray(k)]);
      const va = await a;
      expect(va?.slice(0, 4), `split at ${k}`).toEqual([7, ['a', null, '品牌'], null, expect.any(RespError)]);
      expect(va?.[4]).toBe('OK');
      expect(await b, `split at ${k}`).toEqual([-12, [], '']);
      const c = new Promise<RespValue[] | null>((r) => pipe.send(command('Z'), 1, (_e, v) => r(v)));
      await peer.answer([Buffer.from(third)]);
      expect(await c, `split at ${k}, next batch`).toEqual([3]);
      pipe.close();
      peer.server.close();
    }
  });

  it('fails what is in flight when the peer hangs up', async () => {
    let sock: import('node:net').Socket | null = null;
    const server = createServer((s) => {
      sock = s;
      answerSetupPing(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const pipe = new RespPipe(`redis://127.0.0.1:${(server.address() as AddressInfo).port}`, 5000);
    await waitFor(() => pipe.isReady && sock !== null, 5000, 'the pipe and the peer to connect');
    const a = new Promise<Error | null>((r) => pipe.send(command('X'), 1, (e) => r(e)));
    sock!.destroy();
    expect(await a).toBeInstanceOf(Error); // ECONNRESET or "connection lost"
    pipe.close();
    server.close();
  });

  it('drops the connection on a reply nobody asked for, failing what was in flight', async () => {
    const peer = await scriptedPeer();
    const pipe = new RespPipe(`redis://127.0.0.1:${peer.port}`, 2000);
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
    const a = new Promise<Error | null>((r) => pipe.send(command('X'), 2, (e) => r(e)));
    await peer.answer([Buffer.from(':1\r\n:2\r\n:3\r\n')]);
    expect(await a).toBeNull();
    await waitFor(() => !pipe.isReady, 1000, 'the pipe to drop');
    pipe.close();
    peer.server.close();
  });
});

describe('RespPipe when Redis is away', () => {
  let priv: PrivateRedis;
  beforeAll(async () => {
    priv = await PrivateRedis.start();
  });
  afterAll(async () => {
    priv.thaw();
    await priv.stop();
  });

  it('fails a batch at once while not connected, and works after Redis comes up', async () => {
    const pipe = new RespPipe('redis://127.0.0.1:1', 200);
    const r = await send(pipe, [['PING']]);
    expect(r.err?.message).toMatch(/not ready/);
    pipe.close();
  });

  it('a reply that came in time is not failed because the event loop was busy past the timeout', async () => {
    // The timers run before the socket is read in an event-loop turn: after a stall longer than
    // the timeout, the timeout must not fire for replies already waiting in the socket.
    const pipe = new RespPipe(priv.url, 100);
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
    // Sent from a setImmediate callback (as the gateway's batches are), then the loop is held: the
    // next turn starts with the timers, before the socket that has both replies is read.
    const replies = await new Promise<Promise<{ err: Error | null; values: RespValue[] | null }>[]>((resolve) =>
      setImmediate(() => {
        const sent = [send(pipe, [['PING']]), send(pipe, [['PING'], ['PING']])];
        const until = Date.now() + 400;
        while (Date.now() < until) {
          /* the gateway's event loop held (a long batch, a GC pause): Redis answers meanwhile */
        }
        resolve(sent);
      }),
    );
    const [a, b] = await Promise.all(replies);
    expect(a).toEqual({ err: null, values: ['PONG'] });
    expect(b).toEqual({ err: null, values: ['PONG', 'PONG'] });
    // A Redis that really does not answer still fails within the timeout (and a turn).
    priv.freeze();
    const t0 = Date.now();
    const late = await send(pipe, [['PING']]);
    expect(late.err?.message).toMatch(/did not answer within 100 ms/);
    expect(Date.now() - t0).toBeLessThan(1000);
    priv.thaw();
    pipe.close();
  });

  it('fails every batch in flight within the timeout when Redis freezes, and recovers by itself', async () => {
    const pipe = new RespPipe(priv.url, 300);
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
    priv.freeze();
    const t0 = Date.now();
    const [a, b] = await Promise.all([send(pipe, [['PING']]), send(pipe, [['PING'], ['PING']])]);
    const took = Date.now() - t0;
    expect(a.err?.message).toMatch(/did not answer within 300 ms/);
    expect(b.err).toBe(a.err);
    expect(took).toBeLessThan(2000);
    priv.thaw();
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
    expect((await send(pipe, [['PING']])).values).toEqual(['PONG']);
    pipe.close();
  });

  it('is not ready on a connection Redis has not answered on: a frozen server accepts it, and nothing goes to it', async () => {
    // The kernel completes the TCP handshake for a stopped process (and TLS 1.3 completes its own
    // before the server checks a client certificate): connected is not yet Redis's answer.
    priv.freeze();
    const errors: Error[] = [];
    const pipe = new RespPipe(priv.url, 200, (e) => errors.push(e));
    try {
      const t0 = Date.now();
      let everReady = false;
      // The setup has at least 1 s to be answered: past it, the pipe gives up and tries again.
      while (Date.now() - t0 < 1500) {
        everReady ||= pipe.isReady;
        await sleep(1);
      }
      expect(everReady).toBe(false);
      expect(errors[0]?.message).toMatch(/did not answer within 200 ms/);
      expect((await send(pipe, [['PING']])).err?.message).toMatch(/not ready/);
      priv.thaw();
      await waitFor(() => pipe.isReady, 8000, 'the pipe to connect');
      expect((await send(pipe, [['PING']])).values).toEqual(['PONG']);
    } finally {
      priv.thaw();
      pipe.close();
    }
  });

  it('fails at once while Redis is stopped, and reconnects when it is back', async () => {
    const pipe = new RespPipe(priv.url, 1000);
    await waitFor(() => pipe.isReady, 5000, 'the pipe to connect');
    await priv.stop();
    await waitFor(() => !pipe.isReady, 5000, 'the pipe to drop');
    expect((await send(pipe, [['PING']])).err?.message).toMatch(/not ready/);
    await priv.restart();
    await waitFor(() => pipe.isReady, 8000, 'the pipe to connect');
    expect((await send(pipe, [['PING']])).values).toEqual(['PONG']);
    pipe.close();
  });

  it('authenticates and selects the database from the URL; a wrong password gets no answers', async () => {
    const admin = new Redis(priv.url);
    await admin.config('SET', 'requirepass', 'sekr1t');
    try {
      const good = new RespPipe(`redis://:sekr1t@127.0.0.1:${priv.port}/3`, 1000);
      await waitFor(() => good.isReady, 5000, 'the pipe to connect');
      expect((await send(good, [['HINCRBY', 'k', 'f', '5']])).values).toEqual([5]);
      const db3 = new Redis(`redis://:sekr1t@127.0.0.1:${priv.port}/3`);
      expect(await db3.hget('k', 'f')).toBe('5');
      db3.disconnect();
      good.close();
      // A refused AUTH: never ready (batches go the fallback way), the refusal reported, retried
      // with a backoff (50, 100, 200 ms…), not as fast as it can.
      const errors: Error[] = [];
      const bad = new RespPipe(`redis://:wrong@127.0.0.1:${priv.port}`, 1000, (e) => errors.push(e));
      await waitFor(() => errors.length > 0, 5000, 'the refusal');
      expect(errors[0]!.message).toMatch(/WRONGPASS|invalid|NOAUTH/i);
      const t0 = Date.now();
      let everReady = false;
      while (Date.now() - t0 < 500) {
        everReady ||= bad.isReady;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(everReady).toBe(false);
      expect(errors.length).toBeLessThanOrEqual(6);
      const r = await send(bad, [['PING']]);
      expect(r.values).toBeNull();
      expect(r.err?.message).toMatch(/not ready/);
      bad.close();
    } finally {
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
  });
});
