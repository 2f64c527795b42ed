/**
 * The simulator's control HTTP API (node:http, JSON), for driving it from another process:
 *   GET  /stats      → 200 SimulatorStats
 *   POST /mo         {source, destination, text, dataCoding?} → 200 {delivered}
 *   POST /behaviour  {responseDelayMs?, errorStatus?, errorRatio?, receiptDelayMs?, receiptSuccessRatio?, blackhole?} → 204
 *   POST /drop       {refuseMs?} → 204
 * Bad JSON or bad values → 400 {error}; anything else → 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkBehaviourPatch } from './behaviour.js';
import type { MoMessage } from './mo.js';
import type { Simulator } from './types.js';

const MAX_BODY = 64 * 1024;

class BadRequest extends Error {}

type Handler = (sim: Simulator, body: unknown) => Promise<[number, unknown?]>;

const ROUTES: Record<string, Handler> = {
  'GET /stats': async (sim) => [200, sim.stats],
  'POST /mo': async (sim, body) => [200, { delivered: await sim.injectMo(checkMo(body)) }],
  'POST /behaviour': async (sim, body) => {
    const r = checkBehaviourPatch(body ?? {});
    if (!r.ok) throw new BadRequest(r.error);
    sim.setBehaviour(r.patch);
    return [204];
  },
  'POST /drop': async (sim, body) => {
    sim.dropLinks({ refuseMs: checkRefuse(body ?? {}) });
    return [204];
  },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMo(body: unknown): MoMessage {
  if (!isObject(body)) throw new BadRequest('expected a JSON object');
  const { source, destination, text, dataCoding } = body;
  if (typeof source !== 'string' || source === '') throw new BadRequest('source must be a non-empty string');
  if (typeof destination !== 'string' || destination === '') throw new BadRequest('destination must be a non-empty string');
  if (typeof text !== 'string') throw new BadRequest('text must be a string');
  if (dataCoding !== undefined && !(Number.isInteger(dataCoding) && (dataCoding as number) >= 0 && (dataCoding as number) <= 255)) {
    throw new BadRequest('dataCoding must be an integer 0..255');
  }
  if (strip(source).length > 20 || strip(destination).length > 20) throw new BadRequest('addresses are at most 20 characters');
  return { source, destination, text, dataCoding: dataCoding as number | undefined };
}

const strip = (addr: string) => addr.replace(/^\+/, '');

function checkRefuse(body: unknown): number | undefined {
  if (!isObject(body)) throw new BadRequest('expected a JSON object');
  const v = body.refuseMs;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BadRequest('refuseMs must be a number >= 0');
  return v;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new BadRequest('body too large'));
      else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`bad JSON: ${(err as Error).message}`);
  }
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function handle(sim: Simulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const route = ROUTES[`${req.method} ${path}`];
  if (!route) return reply(res, 404, { error: `no route ${req.method} ${path}` });
  try {
    const body = req.method === 'GET' ? undefined : parseJson(await readBody(req));
    const [status, out] = await route(sim, body);
    reply(res, status, out);
  } catch (err) {
    if (err instanceof BadRequest) reply(res, 400, { error: err.message });
    else reply(res, 500, { error: String(err instanceof Error ? err.message : err) });
  }
}

export function startControlApi(sim: Simulator, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => void handle(sim, req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
