// Command-line mistakes are exit 1 with a message (no stack trace); --version; new --from a shipped cell;
// the build cache; generated kernels name a missing size.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = join(process.cwd(), 'bin/cellgen.js');
const cellgen = (args: string[], cwd = process.cwd(), env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CELLGEN_DEBUG: '', ...env } });
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('cellgen command line', () => {
  it('prints the package version', () => {
    const r = cellgen(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('exits 1 with a message for an unknown option, an unknown command and no command', () => {
    for (const args of [['build', '--frobnicate'], ['frobnicate'], []]) {
      const r = cellgen(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr + r.stdout).toMatch(/error|Usage/);
      noStack(r.stderr);
    }
    expect(cellgen(['build', '--frobnicate']).stderr).toContain("unknown option '--frobnicate'");
  });

  it('exits 1 naming the folder when there is no cells/ folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-empty-'));
    const r = cellgen(['build'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no folder 'cells'");
    expect(r.stderr).toContain('cellgen new');
    noStack(r.stderr);
    const s = cellgen(['build', '--cells', 'nowhere/specs'], dir);
    expect(s.status).toBe(1);
    expect(s.stderr).toContain("no folder 'nowhere/specs'");
  });

  it('exits 1 for an unknown cell in --only and in new --from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-only-'));
    mkdirSync(join(dir, 'cells'));
    cpSync('cells/rnn-relu.cell.yaml', join(dir, 'cells/rnn-relu.cell.yaml'));
    const r = cellgen(['build', '--only', 'nope', '--no-verify', '--no-docs'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("'nope'");
    const n = cellgen(['new', 'x-cell', '--from', 'no-such-cell'], dir);
    expect(n.status).toBe(1);
    expect(n.stderr).toContain("no cell 'no-such-cell'");
    expect(n.stderr).toContain('lstm');
    noStack(n.stderr + r.stderr);
  });

  it('refuses an output folder a build would wrongly replace, before building, and leaves every folder as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-out-'));
    mkdirSync(join(dir, 'cells'));
    cpSync('cells/rnn-relu.cell.yaml', join(dir, 'cells/rnn-relu.cell.yaml'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/main.ts'), 'mine\n');
    const cases: [string, string][] = [
      ['cells', "would replace the folder of the specs ('cells')"],
      ['.', 'would replace the folder of the specs'],
      ['cells/rnn-relu.cell.yaml', 'is a file, not a folder'],
      ['src', 'holds files that cellgen did not write'],
    ];
    for (const [out, message] of cases) {
      const r = cellgen(['build', '--no-verify', '--no-docs', '--out', out], dir);
      expect(r.status, out).toBe(1);
      expect(r.stderr).toContain(message);
      noStack(r.stderr);
    }
    expect(readdirSync(join(dir, 'cells'))).toEqual(['rnn-relu.cell.yaml']);
    expect(readFileSync(join(dir, 'src/main.ts'), 'utf8')).toBe('mine\n');
    expect(readdirSync(dir).sort()).toEqual(['cells', 'src']);
    // A folder a build wrote is replaced; --only with no name is a mistake.
    expect(cellgen(['build', '--no-verify', '--no-docs', '--out', 'out'], dir).status).toBe(0);
    expect(cellgen(['build', '--no-verify', '--no-docs', '--out', 'out'], dir).status).toBe(0);
    const only = cellgen(['build', '--only', ' , ', '--out', 'out'], dir);
    expect(only.status).toBe(1);
    expect(only.stderr).toContain('--only names no cell');
  });

  it.runIf(existsSync('/proc/self'))('exits 1 where a folder cannot be made (under /proc, where recursive mkdir never returns)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-proc-'));
    mkdirSync(join(dir, 'cells'));
    cpSync('cells/rnn-relu.cell.yaml', join(dir, 'cells/rnn-relu.cell.yaml'));
    for (const args of [['new', 'x', '--cells', '/proc/cellgen-nope'], ['build', '--no-verify', '--no-docs', '--out', '/proc/cellgen-nope/out']]) {
      const r = cellgen(args, dir);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toContain("'/proc' does not take new folders");
      noStack(r.stderr);
    }
  });

  it('new --from copies a shipped cell into a project that has none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-from-'));
    const r = cellgen(['new', 'my-gru', '--from', 'gru-reset-after'], dir);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'cells/my-gru.cell.yaml'), 'utf8');
    expect(text).toMatch(/^name: my-gru$/m);
    expect(text.replace(/^(name|title):.*$/gm, '')).toBe(readFileSync('cells/gru-reset-after.cell.yaml', 'utf8').replace(/^(name|title):.*$/gm, ''));
  });

  it('rebuilds from the cache only what changed, with the same output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-cache-'));
    const cells = join(dir, 'cells');
    mkdirSync(cells);
    for (const c of ['rnn-tanh', 'mingru']) cpSync(`cells/${c}.cell.yaml`, join(cells, `${c}.cell.yaml`));
    const env = { CELLGEN_CACHE_DIR: join(dir, 'cache') };
    const first = cellgen(['build', '--no-docs'], dir, env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('cached');
    const ts = readFileSync(join(dir, 'generated/ts/mingru.ts'), 'utf8');
    writeFileSync(join(cells, 'rnn-tanh.cell.yaml'), readFileSync(join(cells, 'rnn-tanh.cell.yaml'), 'utf8').replace('h: tanh(W * x', 'h: tanh(0.5 * (W * x)'));
    const second = cellgen(['build', '--no-docs'], dir, env);
    expect(second.status, second.stderr).toBe(0);
    const rows = Object.fromEntries(second.stdout.split('\n').map((l) => [l.split(/\s+/)[0], l]));
    expect(rows['mingru']).toMatch(/cached$/);
    expect(rows['rnn-tanh']).not.toMatch(/cached$/);
    expect(readFileSync(join(dir, 'generated/ts/mingru.ts'), 'utf8')).toBe(ts);
    expect(readFileSync(join(dir, 'generated/ts/rnn-tanh.ts'), 'utf8')).toContain('0.5');
    const fresh = cellgen(['build', '--no-docs', '--no-cache', '--check'], dir, env);
    expect(fresh.status, fresh.stderr).toBe(0);
  });

  it('generated kernels name a size the caller left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-sizes-'));
    mkdirSync(join(dir, 'cells'));
    const spec = readFileSync('cells/rnn-tanh.cell.yaml', 'utf8').replace(/^name: .*$/m, 'name: wide-rnn').replace(/\bhidden\b/g, 'width');
    writeFileSync(join(dir, 'cells/wide-rnn.cell.yaml'), spec);
    const r = cellgen(['build', '--no-docs'], dir);
    expect(r.status, r.stderr).toBe(0);
    const esbuild = await import('esbuild');
    const js = (await esbuild.transform(readFileSync(join(dir, 'generated/ts/wide-rnn.ts'), 'utf8'), { loader: 'ts', format: 'esm' })).code;
    writeFileSync(join(dir, 'k.mjs'), js);
    const mod = (await import(pathToFileURL(join(dir, 'k.mjs')).href)) as { f32: { paramShapes: (s: Record<string, number>) => unknown } };
    expect(() => mod.f32.paramShapes({ input: 3, hidden: 4 })).toThrow(/wide-rnn: sizes\.width is missing/);
  });
});
