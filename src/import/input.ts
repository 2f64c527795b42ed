/**
 * Import input: a file or a stream becomes a stream of (gunzipped) byte chunks — gzip is recognised
 * by its magic bytes whatever the name — with the bytes read counted for progress; and the format
 * of a policy-data file (by extension, else sniffed).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ImportError, type ImportFormat } from './kinds.js';

export interface Decompressed {
  /** The content, gunzipped when it is gzip. */
  chunks: AsyncIterable<Buffer>;
  gzip: boolean;
  /** The first chunk as read (compressed for a gzip file). */
  head: Buffer;
}

/**
 * Reads the first chunk of `raw`, sniffs the gzip magic bytes (unless `gzip` says) and returns the
 * content, gunzipped if need be. `onBytes` counts what is read (compressed bytes for gzip). Errors
 * of the source are thrown as they come (the first one from this call).
 */
export async function decompress(raw: AsyncIterable<Buffer | string>, o: { gzip?: boolean; onBytes?: (n: number) => void } = {}): Promise<Decompressed> {
  const it = raw[Symbol.asyncIterator]();
  const asBuf = (c: Buffer | string) => (typeof c === 'string' ? Buffer.from(c) : c);
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : asBuf(first.value);
  o.onBytes?.(head.length);
  const gzip = o.gzip ?? (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length) yield head;
      if (first.done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        const b = asBuf(r.value);
        o.onBytes?.(b.length);
        yield b;
      }
    } finally {
      // Stopped early (bad gzip, abort, Redis failure): close the source.
      await it.return?.();
    }
  }
  let chunks: AsyncIterable<Buffer> = all();
  if (gzip) {
    const gun = createGunzip({ chunkSize: 1 << 20 });
    pipeline(Readable.from(all(), { objectMode: false }), gun, () => undefined);
    chunks = gun;
  }
  return { chunks, gzip, head };
}

export interface Input {
  chunks: AsyncIterable<Buffer>;
  /** Closes the file when the import stops before reading it. */
  close: () => void;
  bytesRead: () => number;
  totalBytes: number | null;
  gzip: boolean;
  name: string;
  firstBytes: Buffer;
}

/** Opens a path (checked first: missing, not a file) or a stream; a problem opening it is an ImportError. */
export async function openInput(src: string | Readable, opts: { name?: string; gzip?: boolean }): Promise<Input> {
  let raw: Readable;
  let totalBytes: number | null = null;
  let name = opts.name ?? '<stream>';
  if (typeof src === 'string') {
    name = opts.name ?? src;
    try {
      const st = await stat(src);
      if (!st.isFile()) throw new ImportError(`${src}: not a file`);
      totalBytes = st.size;
    } catch (err) {
      if (err instanceof ImportError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImportError(`${src}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`);
    }
    raw = createReadStream(src, { highWaterMark: 1 << 20 });
  } else {
    raw = src;
  }
  let bytes = 0;
  const d = await decompress(raw as AsyncIterable<Buffer | string>, { gzip: opts.gzip, onBytes: (n) => (bytes += n) }).catch((err: unknown) => {
    throw new ImportError(`${name}: cannot read (${(err as Error).message})`);
  });
  return { chunks: d.chunks, close: () => raw.destroy(), bytesRead: () => bytes, totalBytes, gzip: d.gzip, name, firstBytes: d.head };
}

/** By extension (.csv/.txt → csv, .jsonl/.ndjson/.json → jsonl, after .gz), else `{` at the start of a plain file → jsonl, else csv. */
export function formatOf(name: string, firstBytes: Buffer, gzip: boolean): ImportFormat {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (/\.(jsonl|ndjson|json)$/.test(base)) return 'jsonl';
  if (/\.(csv|txt)$/.test(base)) return 'csv';
  if (!gzip) {
    const t = firstBytes.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (t.startsWith('{')) return 'jsonl';
  }
  return 'csv';
}
