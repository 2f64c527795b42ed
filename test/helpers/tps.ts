/**
 * The accepted rate of an account's TPS limit over several binds (instances or workers): each
 * client submits in bursts of 20 without pause; after `settleMs` (the instances' shares settle)
 * the ESME_ROK and ESME_RTHROTTLED answers of `measureMs` are counted.
 */
import { Status } from '../../src/protocol/status.js';
import type { EsmeClient } from './esme-client.js';

export async function acceptedRate(
  clients: EsmeClient[],
  fields: () => Parameters<EsmeClient['submit']>[0],
  o: { settleMs?: number; measureMs?: number } = {},
): Promise<{ rate: number; ok: number; throttled: number }> {
  let stop = false;
  let measuring = false;
  const counts = { ok: 0, throttled: 0 };
  const pump = async (e: EsmeClient) => {
    while (!stop) {
      const rs = await Promise.all(Array.from({ length: 20 }, () => e.submit(fields())));
      if (!measuring) continue;
      for (const r of rs) {
        if (r.status === 0) counts.ok++;
        else if (r.status === Status.ESME_RTHROTTLED) counts.throttled++;
      }
    }
  };
  const runs = clients.map(pump);
  await new Promise((r) => setTimeout(r, o.settleMs ?? 2000));
  measuring = true;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, o.measureMs ?? 4000));
  measuring = false;
  const secs = (Date.now() - t0) / 1000;
  stop = true;
  await Promise.all(runs);
  return { rate: counts.ok / secs, ...counts };
}
