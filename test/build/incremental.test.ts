// The build cache at work through the command (the CLI bundle, worker threads): a rebuild after one spec changed
// builds that cell only and gives the output a fresh build gives; a build with nothing changed loads neither the
// compiler (mathjs, binaryen, the emitters) nor KaTeX and leaves the output folder untouched.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../src/build/files.js';

mkdirSync('.tmp', { recursive: true });
const root = resolve(mkdtempSync(join('.tmp', 'incremental-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CELLS = ['mgu', 'mingru', 'gru-minimal'];

function cellgen(args: string[], cache: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/cellgen.js'), 'build', '--cells', join(root, 'cells'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CELLGEN_CACHE_DIR: join(root, cache), CELLGEN_TRACE: '1', CELLGEN_DEBUG: '', ...env },
  });
  if (r.status !== 0) throw new Error(`cellgen build failed (${r.status}):\n${r.stderr}`);
  const trace = r.stderr.split('\n').filter((l) => l.startsWith('[trace '));
  const built = Number(/cache read: (\d+) cells to build/.exec(trace.join('\n'))?.[1]);
  return { trace: trace.join('\n'), built, stdout: r.stdout };
}

const tree = (dir: string) => Object.fromEntries(listFiles(dir).map((p) => [p, readFileSync(join(dir, p))]));
/** The table's time column for each cell: 'cached' or a time. */
const times = (stdout: string) => Object.fromEntries(CELLS.map((c) => [c, new RegExp(`^${c} .*\\s(cached|[0-9.]+ s)$`, 'm').exec(stdout)?.[1]]));

describe('cellgen build with its cache', () => {
  it('rebuilds only a changed cell, reproduces a fresh build, and does nothing at all when nothing changed', () => {
    mkdirSync(join(root, 'cells'));
    for (const c of CELLS) cpSync(`cells/${c}.cell.yaml`, join(root, 'cells', `${c}.cell.yaml`));
    const out = join(root, 'generated');

    const cold = cellgen([], 'cache');
    expect(cold.built).toBe(3);
    expect(cold.trace).toContain('compiler loaded');

    const inode = statSync(out).ino;
    const same = cellgen([], 'cache');
    expect(same.built).toBe(0);
    expect(same.trace).not.toContain('compiler loaded');
    expect(same.trace).not.toContain('katex loaded');
    expect(statSync(out).ino).toBe(inode); // not swapped: nothing was written
    expect(Object.values(times(same.stdout))).toEqual(['cached', 'cached', 'cached']);

    // An equation of mgu changes (same cell, other terms order): only mgu is built again.
    const spec = join(root, 'cells', 'mgu.cell.yaml');
    const text = readFileSync(spec, 'utf8');
    const edited = text.replace(/^( {2}f: sigmoid\()W_f \* x \+ U_f \* h_prev/m, '$1U_f * h_prev + W_f * x');
    expect(edited).not.toBe(text);
    writeFileSync(spec, edited);
    const kept = statSync(join(out, 'ts', 'mingru.ts')).ino;
    const one = cellgen([], 'cache');
    expect(one.built).toBe(1);
    expect(times(one.stdout)).toMatchObject({ mingru: 'cached', 'gru-minimal': 'cached' });
    expect(times(one.stdout).mgu).toMatch(/ s$/);
    // Unchanged files are carried over, not written again.
    expect(statSync(join(out, 'ts', 'mingru.ts')).ino).toBe(kept);
    // KaTeX renders only the formulas the edit changed (the others are remembered from mgu's last build); after an
    // edit that changes no formula, none.
    const rendered = (t: string) => /mgu: (\d+) of (\d+) formulas rendered/.exec(t)?.slice(1).map(Number);
    const [changed, all] = rendered(one.trace) ?? [];
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(all! / 2);
    writeFileSync(spec, `${edited}# a comment\n`);
    expect(rendered(cellgen([], 'cache').trace)).toEqual([0, all]);

    // A build knows unchanged output files by the manifest it keeps in the cache, without reading them; one edited by
    // hand to the same size is still found and rewritten, though no cell is built.
    const hand = join(out, 'ts', 'mingru.ts');
    const good = readFileSync(hand, 'utf8');
    writeFileSync(hand, good.replace('export', 'EXPORT'));
    const repaired = cellgen([], 'cache');
    expect(repaired.built).toBe(0);
    expect(readFileSync(hand, 'utf8')).toBe(good);

    // Byte for byte what a build without any cache writes (pages that list every cell included), here on worker
    // threads (two, and this thread) whatever the machine's cores.
    const incremental = tree(out);
    rmSync(out, { recursive: true });
    const fresh = cellgen(['--no-cache'], 'unused', { CELLGEN_WORKERS: '2' });
    expect(fresh.trace).toMatch(/\[trace +\d+ ms worker \d+\] worker started/);
    expect(tree(out)).toEqual(incremental);
  }, 300_000);
});
