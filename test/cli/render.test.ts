// The command's render worker (src/docs/render-worker.ts, bundled beside the CLI): it renders the site's formulas and
// figures off the main thread, and the site is the same bytes as one rendered in a single thread (generated/, which
// test/build/golden.test.ts renders from the TypeScript sources, where there is no worker). What it cannot render is
// left to the main thread, which reports mistakes as before.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../src/build/files.js';

const tmp = mkdtempSync(join(tmpdir(), 'cellgen-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cellgen = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(process.cwd(), 'bin/cellgen.js'), ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, CELLGEN_DEBUG: '', CELLGEN_TRACE: '1', ...env } });

const MAIN_RENDERED = /\[trace +\d+ ms main\] site: (\d+) formulas and (\d+) figures rendered in this thread/;

describe('the render worker', () => {
  it('renders the whole site of the shipped cells off the main thread, byte for byte as generated/, and its work is cached', () => {
    const cache = join(tmp, 'cache');
    const r = cellgen(['build', '--check', '--cells', 'cells', '--out', 'generated'], { CELLGEN_CACHE_DIR: cache });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.stdout).toContain('generated is up to date');
    expect(r.status).toBe(0);
    const sent = /render worker: (\d+) formulas, (\d+) figures rendered/.exec(r.stderr);
    expect(sent, r.stderr).not.toBeNull();
    // The worker got every cell's formulas and the figures, and the main thread had nothing left to render.
    expect(Number(sent![1])).toBeGreaterThan(100);
    expect(Number(sent![2])).toBeGreaterThan(0);
    expect(MAIN_RENDERED.exec(r.stderr)?.slice(1)).toEqual(['0', '0']);
    // Nothing changed: no worker, nothing rendered, the same output (from the cache the worker's results went to).
    const again = cellgen(['build', '--check', '--cells', 'cells', '--out', 'generated'], { CELLGEN_CACHE_DIR: cache });
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain('render worker');
  });

  it('leaves a formula KaTeX rejects in a description to the main thread, which sets it as text as a single thread does', () => {
    // The same spec file (its path is in the output), built with and without the worker.
    const dir = join(tmp, 'prose');
    const spec = join(dir, 'cells', 'mingru.cell.yaml');
    cpSync('cells/mingru.cell.yaml', spec);
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(/^description:[^]*?\n(?=\S)/m, 'description: "A cell whose notes say $\\\\frac{1}{$ and $x^2$ and h_t = z_t * h_{t-1}."\n'));
    const outputs = ['1', '0'].map((worker) => {
      const out = join(dir, `out-${worker}`);
      const r = cellgen(['build', '--no-verify', '--cells', join(dir, 'cells'), '--out', out], { CELLGEN_CACHE_DIR: join(dir, `cache-${worker}`), CELLGEN_RENDER_WORKER: worker });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.includes('render worker: '), r.stderr).toBe(worker === '1');
      return Object.fromEntries(listFiles(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    });
    const page = outputs[0]!['docs/cells/mingru.html']!;
    expect(page).toContain('$\\frac{1}{$');
    expect(page).toContain('class="katex"');
    expect(outputs[0]).toEqual(outputs[1]);
  });

  it('does not keep a failing build alive: a bad LaTeX name is reported with file:line:col and no stack trace', () => {
    const dir = join(tmp, 'bad');
    cpSync('cells/gru.cell.yaml', join(dir, 'gru.cell.yaml'));
    cpSync('cells/rnn-tanh.cell.yaml', join(dir, 'rnn-tanh.cell.yaml'));
    const text = readFileSync(join(dir, 'gru.cell.yaml'), 'utf8').replace("h_cand: '\\tilde{h}'", "h_cand: '\\tilde{h}\\notacommand'");
    expect(text).toContain('notacommand');
    writeFileSync(join(dir, 'gru.cell.yaml'), text);
    const r = cellgen(['build', '--cells', dir, '--out', join(dir, 'out')], { CELLGEN_CACHE_DIR: join(dir, 'cache'), CELLGEN_RENDER_WORKER: '1' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('render worker: ');
    const line = text.split('\n').findIndex((l) => l.includes('notacommand')) + 1;
    expect(r.stderr).toContain(`${join(dir, 'gru.cell.yaml')}:${line}:`);
    expect(r.stderr).toContain('notacommand');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('lets a build that fails while the worker is still starting exit 1 with its error, every time', async () => {
    // A cell that fails at once (an unknown symbol) with an empty cache: the worker is stopped while it is busy loading
    // and drawing. Node 20 sometimes never reports such a worker's exit; awaiting it left the command's top-level await
    // unsettled, and the process ended with code 13 and no error (about one run in 15 under load; a race, so this
    // test catches it only some of the time). Runs in parallel, so the race gets its chances.
    const dir = join(tmp, 'early');
    cpSync('cells/gru.cell.yaml', join(dir, 'gru.cell.yaml'));
    writeFileSync(join(dir, 'gru.cell.yaml'), readFileSync(join(dir, 'gru.cell.yaml'), 'utf8').replace('U_z * h_prev', 'U_z * h_pre'));
    const run = (i: number) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const env = { ...process.env, CELLGEN_DEBUG: '', CELLGEN_TRACE: '1', CELLGEN_RENDER_WORKER: '1', CELLGEN_CACHE_DIR: join(dir, `cache-${i}`) };
        const p = spawn(process.execPath, [join(process.cwd(), 'bin/cellgen.js'), 'build', '--cells', dir, '--out', join(dir, `out-${i}`)], { env });
        let stderr = '';
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('close', (status) => resolve({ status, stderr }));
      });
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([0, 1, 2].map((i) => run(round * 3 + i)));
      for (const r of results) {
        expect(r.stderr).toContain('render worker: ');
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toContain("unknown symbol 'h_pre'");
      }
    }
  }, 300_000);
});
