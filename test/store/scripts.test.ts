/**
 * The one script loader: every Lua file of the table exists and documents its KEYS/ARGV/return
 * value, and withScripts() defines the whole table once per client, runnable against the real
 * Redis on 127.0.0.1:6379 (unique key prefix per run).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { AUDIT_BUFFER, COUNTERS, SCRIPTS, scriptSource, withScripts, type ScriptName } from '../../src/store/scripts.js';
import { clearKeys } from '../helpers/redis-keys.js';

const LUA = new URL('../../src/store/lua/', import.meta.url);
const PREFIX = `test:scripts:${process.pid}:${randomBytes(4).toString('hex')}:`;
const names = Object.keys(SCRIPTS) as ScriptName[];

let redis: Redis;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

describe('the script table', () => {
  it('names every .lua file once, as a script or in a prelude (the counters\' and the decision buffer\'s shared functions)', () => {
    const files = names.map((n) => SCRIPTS[n].file);
    expect(new Set(files).size).toBe(files.length);
    expect([...files, ...COUNTERS, ...AUDIT_BUFFER].sort()).toEqual(readdirSync(LUA).filter((f) => f.endsWith('.lua')).sort());
  });

  it('each file opens with a header naming its command, Input and Output', () => {
    for (const name of names) {
      const text = readFileSync(new URL(SCRIPTS[name].file, LUA), 'utf8');
      const header = text.slice(0, text.indexOf(']]'));
      expect(text.startsWith('--[['), name).toBe(true);
      expect(header, name).toContain(`Command: ${name} (store/scripts.ts)`);
      expect(header, name).toMatch(/\n {2}Input:\n[\s\S]*KEYS[\s\S]*ARGV[\s\S]*\n {2}Output:\n/);
    }
  });

  it('puts rate-counters.lua in front of the scripts that call its functions, and only those', () => {
    for (const name of names) {
      const own = readFileSync(new URL(SCRIPTS[name].file, LUA), 'utf8');
      const counts = SCRIPTS[name].prelude === COUNTERS;
      expect(/\bsg_[a-z]+\(/.test(own), name).toBe(counts);
      expect(scriptSource(name).includes('local function sg_group('), name).toBe(counts);
    }
  });

  it("puts audit-buffer.lua in front of the decision buffer's scripts, which do not define its functions again", () => {
    for (const name of names) {
      const own = readFileSync(new URL(SCRIPTS[name].file, LUA), 'utf8');
      const buffer = SCRIPTS[name].prelude === AUDIT_BUFFER;
      if (buffer) expect(/local function (parts|le|hold|prune|clock)\(/.test(own), name).toBe(false);
      expect(scriptSource(name).includes('local function hold('), name).toBe(buffer);
    }
    expect(names.filter((n) => SCRIPTS[n].prelude === AUDIT_BUFFER).sort()).toEqual(['sgAuditAppend', 'sgAuditArchived', 'sgAuditHold']);
  });
});

describe('withScripts', () => {
  it('defines the whole table once per client and runs a fixed-keys and a counted-keys script', async () => {
    const define = vi.spyOn(redis, 'defineCommand');
    try {
      const client = withScripts(redis);
      expect(define).toHaveBeenCalledTimes(names.length);
      expect(withScripts(redis)).toBe(client);
      expect(define).toHaveBeenCalledTimes(names.length);
    } finally {
      define.mockRestore();
    }
    const client = withScripts(redis);
    // numberOfKeys 1: the key is the first argument.
    expect(await client.sgBindReserve(`${PREFIX}{binds:a}`, 'me', 1, 1000, 15_000)).toBe(1);
    expect(await client.sgBindReserve(`${PREFIX}{binds:a}`, 'other', 1, 1000, 15_000)).toBe(0);
    // No fixed number: the call says how many keys come first.
    await redis.hset(`${PREFIX}{dlr}:1`, 'abc', 'esme');
    expect(await client.sgDlrLookup(2, `${PREFIX}{dlr}:2`, `${PREFIX}{dlr}:1`, 'x', 'abc')).toEqual(['abc', 'esme']);
  });
});
