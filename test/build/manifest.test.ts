// The output manifest: a build knows unchanged output files by their stats and the content hash the last build
// recorded, without reading them; any file whose stats changed (an edit by hand, even of the same size and with its
// mtime put back) is read, compared and rewritten.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FileTree, writeTreeAtomically } from '../../src/build/files.js';
import { manifestFile, OutputManifest } from '../../src/build/manifest.js';

// Counts the reads of output files (the module under test imports readFileSync from node:fs), and can make the file
// system's clock coarse: whole seconds, as on file systems that keep no finer times.
const reads: string[] = [];
const clock = { coarse: false };
vi.mock('node:fs', async (original) => {
  const m = await original<typeof import('node:fs')>();
  const readFileSync = ((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    reads.push(String(p));
    return (m.readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof m.readFileSync;
  const statSync = ((p: fs.PathLike, o?: fs.StatSyncOptions) => {
    const st = m.statSync(p, o) as fs.BigIntStats | undefined;
    if (!clock.coarse || !st || typeof st.ctimeNs !== 'bigint') return st;
    const s = 1_000_000_000n;
    return Object.assign(Object.create(Object.getPrototypeOf(st) as object) as fs.BigIntStats, st, { mtimeNs: (st.mtimeNs / s) * s, ctimeNs: (st.ctimeNs / s) * s });
  }) as typeof m.statSync;
  return { ...m, default: { ...m, readFileSync, statSync }, readFileSync, statSync };
});

fs.mkdirSync('.tmp', { recursive: true });
const root = fs.mkdtempSync(join('.tmp', 'manifest-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const out = join(root, 'generated');
const cache = join(root, 'cache');
const manifest = () => new OutputManifest(manifestFile(cache, out), out);
const outputReads = () => reads.filter((p) => p.startsWith(`${out}/`));

const tree = (b = 'bbbb'): FileTree =>
  new Map<string, string | Uint8Array>([
    ['ts/a.ts', 'export const a = 1;\n'],
    ['ts/b.ts', `export const b = '${b}';\n`],
    ['docs/x.bin', new Uint8Array([1, 2, 3, 250])],
    ['docs/π.html', '<p>∂h/∂s — π</p>\n'],
  ]);
/** Lets the clock tick on (ctime granularity), then records the output's stats (manifest.ts trusts only older files). */
function settle(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  writeTreeAtomically(tree(), out, () => false, manifest());
}
const contents = () => Object.fromEntries([...tree()].map(([p]) => [p, fs.readFileSync(join(out, p), 'utf8')]));

describe('the output manifest', () => {
  beforeEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    writeTreeAtomically(tree(), out, () => false, manifest());
    settle();
    reads.length = 0;
  });

  it('finds a file edited right after a build in the same clock tick as its last change (a coarse clock)', () => {
    clock.coarse = true;
    try {
      // ts/a.ts is unchanged, so carried over as a link; the edit follows the build at once: same size, same inode, and
      // on this clock the same ctime as the build gave it, so only the time of the manifest tells it apart.
      for (const b of ['dddd', 'bbbb', 'dddd']) {
        expect(writeTreeAtomically(tree(b), out, () => false, manifest())).toBe(true);
        fs.writeFileSync(join(out, 'ts/a.ts'), 'export const a = 7;\n');
        expect(writeTreeAtomically(tree(b), out, () => false, manifest())).toBe(true);
        expect(fs.readFileSync(join(out, 'ts/a.ts'), 'utf8')).toBe('export const a = 1;\n');
      }
    } finally {
      clock.coarse = false;
    }
  });

  it('knows an unchanged output without reading its files', () => {
    expect(writeTreeAtomically(tree(), out, () => false, manifest())).toBe(false);
    expect(outputReads()).toEqual([]);
    // A changed file is written; the others are still not read.
    expect(writeTreeAtomically(tree('cccc'), out, () => false, manifest())).toBe(true);
    expect(outputReads()).toEqual([]);
    expect(fs.readFileSync(join(out, 'ts/b.ts'), 'utf8')).toBe("export const b = 'cccc';\n");
    // Files changed in the tick the manifest was written in are read once more, then known.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(writeTreeAtomically(tree('cccc'), out, () => false, manifest())).toBe(false);
    reads.length = 0;
    expect(writeTreeAtomically(tree('cccc'), out, () => false, manifest())).toBe(false);
    expect(outputReads()).toEqual([]);
  });

  it('rewrites a file edited by hand to the same size, even with its mtime put back', () => {
    const p = join(out, 'ts/b.ts');
    const before = fs.statSync(p, { bigint: true });
    // The exact mtime (to the nanosecond) put back with touch -r, as tools that preserve times do.
    const ref = join(root, 'ref');
    fs.writeFileSync(ref, '');
    execFileSync('touch', ['-r', p, ref]);
    fs.writeFileSync(p, "export const b = 'XXXX';\n");
    execFileSync('touch', ['-r', ref, p]);
    const after = fs.statSync(p, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    expect(writeTreeAtomically(tree(), out, () => false, manifest())).toBe(true);
    expect(outputReads()).toEqual([p]);
    expect(fs.readFileSync(p, 'utf8')).toBe("export const b = 'bbbb';\n");
    // And the manifest records the repaired file: once the clock moved on, a build reads nothing.
    settle();
    reads.length = 0;
    expect(writeTreeAtomically(tree(), out, () => false, manifest())).toBe(false);
    expect(outputReads()).toEqual([]);
  });

  it('falls back to reading without a manifest', () => {
    fs.rmSync(cache, { recursive: true, force: true });
    expect(writeTreeAtomically(tree(), out, () => false, manifest())).toBe(false);
    expect(outputReads().length).toBe(tree().size);
    // That build recorded the stats.
    reads.length = 0;
    expect(writeTreeAtomically(tree(), out, () => false, manifest())).toBe(false);
    expect(outputReads()).toEqual([]);
    expect(contents()['docs/π.html']).toBe('<p>∂h/∂s — π</p>\n');
  });
});
