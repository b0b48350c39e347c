// The output folder holds the complete old tree or the complete new one after a kill at every step of a build's swap,
// and the next build removes what the killed one left.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { listFiles, writeTreeAtomically } from '../../src/build/files.js';
import { recoverOutput } from '../../src/build/swap.js';
import { newTree, oldTree } from './swap-trees.js';

mkdirSync('.tmp', { recursive: true });
const root = mkdtempSync(join('.tmp', 'swap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// The child is bundled once, so each of the many kills costs a plain node start.
const child = join(root, 'child.mjs');
buildSync({ entryPoints: ['test/build/swap-child.ts'], bundle: true, platform: 'node', format: 'esm', outfile: child, logLevel: 'silent' });

const read = (dir: string): Record<string, string> => Object.fromEntries(listFiles(dir).map((p) => [p, readFileSync(join(dir, p), 'utf8')]));
const OLD = Object.fromEntries(oldTree());
const NEW = { ...Object.fromEntries(newTree()), 'kept/user.txt': 'kept' };

function seed(out: string): void {
  rmSync(dirname(out), { recursive: true, force: true });
  for (const [p, c] of oldTree()) {
    mkdirSync(dirname(join(out, p)), { recursive: true });
    writeFileSync(join(out, p), c);
  }
}

/** Runs the child build killed before its k-th file-system step; returns the signal, or null when it finished. */
function runKilledAt(out: string, k: number, env: Record<string, string>): NodeJS.Signals | null {
  const r = spawnSync(process.execPath, [child, out], { env: { ...process.env, ...env, CELLGEN_TEST_KILL_AT_STEP: String(k) }, encoding: 'utf8' });
  if (r.status !== 0 && r.signal === null) throw new Error(`child failed: ${r.stderr}`);
  return r.signal;
}

describe.each([
  ['with an atomic exchange (Linux renameat2)', {}],
  ['with the two-rename fallback', { CELLGEN_SWAP_NO_EXCHANGE: '1' }],
] as const)('a build killed at every step of its swap, %s', (_, env) => {
  it('leaves the old or the new tree at the output path, and the next build leaves only the new one', () => {
    const seen = { old: 0, new: 0, missing: 0 };
    let k = 1;
    for (; k < 100; k++) {
      const out = join(root, `k${k}${Object.keys(env).length}`, 'generated');
      seed(out);
      const signal = runKilledAt(out, k, env);
      if (signal === null) break;
      expect(signal).toBe('SIGKILL');
      if (!existsSync(out)) {
        // Only the fallback has this instant, between its two renames; its journal names the new tree.
        expect(Object.keys(env)).toContain('CELLGEN_SWAP_NO_EXCHANGE');
        expect(existsSync(`${out}.swap`)).toBe(true);
        seen.missing++;
      } else {
        const now = read(out);
        if (now['ts/a.ts'] === 'old a') {
          expect(now).toEqual(OLD);
          seen.old++;
        } else {
          expect(now).toEqual(NEW);
          seen.new++;
        }
      }
      // The next build: recovery, then a swap of its own.
      writeTreeAtomically(newTree(), out, (p) => p.startsWith('kept/'));
      expect(read(out)).toEqual(NEW);
      expect(readdirSync(dirname(out)).sort()).toEqual(['generated']);
    }
    expect(k).toBeGreaterThan(8); // the kill points covered the writes, the journal and the swap
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.new).toBeGreaterThan(0);
    expect(seen.missing).toBe(Object.keys(env).length ? 1 : 0);
  }, 120_000);
});

describe('recoverOutput', () => {
  it('puts the new tree in place when a build died between the two renames of the fallback', () => {
    const out = join(root, 'window', 'generated');
    rmSync(dirname(out), { recursive: true, force: true });
    const tmp = `${out}.tmp-999999-1`;
    const old = `${out}.old-999999-1`;
    mkdirSync(join(tmp, 'ts'), { recursive: true });
    writeFileSync(join(tmp, 'ts', 'a.ts'), 'new a');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'x'), 'old');
    writeFileSync(`${out}.swap`, JSON.stringify({ pid: 999999, tmp, old }));
    recoverOutput(out);
    expect(read(out)).toEqual({ 'ts/a.ts': 'new a' });
    expect(readdirSync(dirname(out))).toEqual(['generated']);
  });

  it('removes leftovers of killed builds but not those of a running one', () => {
    const out = join(root, 'left', 'generated');
    mkdirSync(out, { recursive: true });
    for (const n of [`generated.tmp-999999`, `generated.old-999998-3`, `generated.tmp-${process.pid}-7`]) mkdirSync(join(dirname(out), n));
    writeFileSync(join(dirname(out), 'generated.swap.tmp-999997'), '{');
    recoverOutput(out);
    expect(readdirSync(dirname(out)).sort()).toEqual(['generated', `generated.tmp-${process.pid}-7`]);
  });
});
