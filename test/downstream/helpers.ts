/**
 * SMSC links under test: each connection a link opens is an in-memory stream pair whose far end the
 * test drives as the SMSC, and whose "TCP connect" completes when the test says so.
 */
import { expect } from 'vitest';
import { SmscSchema, type SmscConfig } from '../../src/config/schema.js';
import { Command, responseIdOf } from '../../src/protocol/commands.js';
import { decode, str } from '../../src/protocol/decode.js';
import { encodePdu } from '../../src/protocol/encode.js';
import type { Dialler } from '../../src/downstream/smsc-link.js';
import { head, Peer, settle, streamPair, type StreamSide } from '../helpers/fake-link.js';

export function smscCfg(over: Partial<SmscConfig> & Record<string, unknown> = {}): SmscConfig {
  return SmscSchema.parse({ name: 'smsc', port: 2775, system_id: 'gw', password: 'pw', ...over });
}

/** One connection attempt a link made. */
export interface Dial {
  cfg: SmscConfig;
  smsc: Peer;
  /** The gateway's end of the connection. */
  socket: StreamSide;
  /** Completes the TCP (or TLS) connect: the link then binds. */
  connected(): void;
}

/** A dialler that hands every connection attempt to the test. */
export function dialler(): { dial: Dialler; dials: Dial[] } {
  const dials: Dial[] = [];
  const dial: Dialler = (cfg, onConnected) => {
    const [near, far] = streamPair('192.0.2.10', cfg.port);
    dials.push({ cfg, smsc: new Peer(far), socket: near, connected: onConnected });
    return near;
  };
  return { dial, dials };
}

/**
 * Completes a dial's connect and answers its bind with `status`; returns the bind request. The SMSC
 * side answers with a bind_*_resp for whichever bind the link sent.
 */
export async function acceptBind(d: Dial, status = 0): Promise<Buffer> {
  d.connected();
  await settle();
  const [bind] = d.smsc.take();
  expect(bind).toBeDefined();
  const h = head(bind!);
  expect([Command.bind_transceiver, Command.bind_transmitter, Command.bind_receiver]).toContain(h.command);
  d.smsc.send(encodePdu(responseIdOf(h.command), status, h.sequence, status === 0 ? { system_id: 'SMSC' } : {}));
  await settle();
  return bind!;
}

/** The fields of a bind request the link sent. */
export function bindFields(bind: Buffer): { system_id: string; password: string; system_type: string; interface_version: number } {
  const d = decode(bind);
  if (!d.ok) throw new Error(d.reason);
  const f = d.pdu.fields;
  return { system_id: str(f.system_id), password: str(f.password), system_type: str(f.system_type), interface_version: f.interface_version as number };
}
