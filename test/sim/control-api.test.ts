/**
 * The simulator's control HTTP API over real HTTP: stats, MO injection, behaviour, drop, errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';

let sim: Simulator | null = null;
let clients: EsmeClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim?.close();
  sim = null;
  clients = [];
});

async function start(): Promise<Simulator> {
  sim = await startSimulator({ port: 0, httpPort: 0, receiptDelayMs: 10 });
  return sim;
}

async function esme(s: Simulator, kind: 'transmitter' | 'transceiver' = 'transceiver'): Promise<EsmeClient> {
  const c = await connect('127.0.0.1', s.port);
  clients.push(c);
  expect(await c.bind(kind)).toBe(0);
  return c;
}

async function call(s: Simulator, method: string, path: string, body?: string | object) {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const SUBMIT = { source_addr: '10690001', destination_addr: '8613800138000', short_message: 'hi' };

describe('control API', () => {
  it('is off unless httpPort is given', async () => {
    sim = await startSimulator({ port: 0 });
    expect(sim.httpPort).toBeNull();
  });

  it('GET /stats returns the counters', async () => {
    const s = await start();
    const c = await esme(s);
    await c.submit(SUBMIT);
    const r = await call(s, 'GET', '/stats');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ connections: 1, binds: 1, submits: 1, errorsAnswered: 0 });
  });

  it('POST /mo injects an MO and reports delivery', async () => {
    const s = await start();
    expect((await call(s, 'POST', '/mo', { source: '8613800138000', destination: '10690001', text: 'TD' })).json).toEqual({
      delivered: false,
    });
    const c = await esme(s);
    const r = await call(s, 'POST', '/mo', { source: '8613800138000', destination: '10690001', text: 'TD' });
    expect(r).toEqual({ status: 200, json: { delivered: true } });
    expect(c.deliveries[0]!.view.shortMessage.toString()).toBe('TD');
  });

  it('POST /behaviour changes how submits are answered', async () => {
    const s = await start();
    const c = await esme(s, 'transmitter');
    expect((await call(s, 'POST', '/behaviour', { errorStatus: 0x58, errorRatio: 1 })).status).toBe(204);
    expect((await c.submit(SUBMIT)).status).toBe(Status.ESME_RTHROTTLED);
    expect((await call(s, 'POST', '/behaviour', { errorRatio: 0 })).status).toBe(204);
    expect((await c.submit(SUBMIT)).status).toBe(0);
  });

  it('POST /drop closes the SMPP links', async () => {
    const s = await start();
    const c = await esme(s);
    expect((await call(s, 'POST', '/drop', { refuseMs: 0 })).status).toBe(204);
    await c.closed;
    expect((await call(s, 'POST', '/drop')).status).toBe(204);
  });

  it('answers 400 for bad JSON or bad values, 404 for unknown routes', async () => {
    const s = await start();
    const bad = await call(s, 'POST', '/behaviour', '{nope');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/bad JSON/);
    expect((await call(s, 'POST', '/behaviour', { errorRatio: 2 })).json.error).toMatch(/errorRatio/);
    expect((await call(s, 'POST', '/behaviour', { colour: 'red' })).status).toBe(400);
    expect((await call(s, 'POST', '/behaviour', [])).status).toBe(400);
    expect((await call(s, 'POST', '/mo', { source: '1' })).status).toBe(400);
    expect((await call(s, 'POST', '/drop', { refuseMs: 'soon' })).status).toBe(400);
    expect((await call(s, 'GET', '/nowhere')).status).toBe(404);
  });
});
