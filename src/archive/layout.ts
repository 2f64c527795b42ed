/**
 * Reading the archive's directory tree: which published files of a shard a reader or the writer
 * may use. The rules (docs/evidence.md, "Layout"):
 *
 * - a file is published by its rename: names starting with "." are a writer's temp files, never read;
 * - a file whose stream-id range lies inside another listed file's range, in the same day and
 *   shard, was merged into that one (compaction) and is ignored (it is deleted after a grace);
 * - a batch spanning days is n files `-<k>of<n>` with one range: complete when all n are there
 *   (the writer advances the cursor only then);
 * - a reader uses the files whose range ends at or before the shard's cursor, and the buffer after it
 *   (no cursor: the meta hash expired with an idle buffer, so every file is published and complete).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareIds } from '../store/archive-buffer.js';
import { DECISIONS_DIR, parseName, shardDir, type FileName } from './schema.js';

export interface ListedFile extends FileName {
  day: string;
  path: string;
  name: string;
  bytes: number;
}

const DAY = /^day=(\d{4}-\d{2}-\d{2})$/;

/** The day partitions present (YYYY-MM-DD), oldest first. */
export function listDays(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, DECISIONS_DIR));
  } catch {
    return [];
  }
  return names
    .map((n) => DAY.exec(n)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort();
}

export function partitionDir(root: string, day: string, shard: number, shards: number): string {
  return join(root, DECISIONS_DIR, `day=${day}`, shardDir(shard, shards));
}

/** Every published file of one shard and day (temp files left out), with its size. */
export function listPartition(root: string, day: string, shard: number, shards: number, withSize = false): ListedFile[] {
  const dir = partitionDir(root, day, shard, shards);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: ListedFile[] = [];
  for (const name of names) {
    const f = parseName(name);
    if (!f) continue;
    const path = join(dir, name);
    let bytes = 0;
    if (withSize) {
      try {
        bytes = statSync(path).size;
      } catch {
        continue;
      }
    }
    out.push({ ...f, day, path, name, bytes });
  }
  return out.sort((a, b) => compareIds(a.first, b.first) || compareIds(b.last, a.last));
}

/** Leaves out files whose range lies inside another file's of the same day (merged away). */
export function withoutContained(files: ListedFile[]): { live: ListedFile[]; contained: ListedFile[] } {
  const live: ListedFile[] = [];
  const contained: ListedFile[] = [];
  // Sorted by first id, widest first: a file is contained when an earlier live one reaches its end.
  let reach: string | null = null;
  let reachFile: ListedFile | null = null;
  for (const f of files) {
    if (reach !== null && reachFile && compareIds(f.last, reach) <= 0 && !(f.first === reachFile.first && f.last === reachFile.last)) {
      contained.push(f);
      continue;
    }
    live.push(f);
    if (reach === null || compareIds(f.last, reach) > 0) {
      reach = f.last;
      reachFile = f;
    }
  }
  return { live, contained };
}

/** The files of one shard in the given days that a reader with cursor `cursor` uses. */
export function readableFiles(root: string, days: string[], shard: number, shards: number, cursor: string | null): ListedFile[] {
  const out: ListedFile[] = [];
  for (const day of days) {
    const { live } = withoutContained(listPartition(root, day, shard, shards));
    for (const f of live) if (cursor === null || compareIds(f.last, cursor) <= 0) out.push(f);
  }
  return out;
}
