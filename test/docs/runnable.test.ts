/**
 * Docs that run: every ```sh runnable block in README.md and docs/*.md, in document order, against
 * one live gateway (test/docs/live.ts: the built CLI's simulator and gateway, the real Redis under
 * a unique prefix). A block fails the test when it exits non-zero — so a documented command that
 * stops working, or an example whose output no longer holds (blocks check with grep), is caught.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docFiles, runBlock, runnableBlocks, startLive, ROOT, type Live } from './live.js';

const blocks = docFiles().flatMap((f) => runnableBlocks(f));

describe('runnable doc blocks', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  }, 60_000);
  afterAll(() => live?.stop());

  it('finds runnable blocks in README.md and the docs', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(3);
    expect(new Set(blocks.map((b) => b.file)).size).toBeGreaterThanOrEqual(2);
  });

  for (const b of blocks) {
    it(`${b.file}:${b.line}`, () => {
      const r = runBlock(b, live.env, ROOT);
      expect(r.status, `${b.file}:${b.line}\n${b.code}\n--- output ---\n${r.output}`).toBe(0);
    }, 130_000);
  }

  it('the extractor takes only blocks marked runnable', () => {
    expect(blocks.every((b) => !b.code.includes('```'))).toBe(true);
  });
});
