// The command line: diagnostics without stack traces, atomic output, --check, new, --help.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles } from '../../src/build/files.js';

const cellgen = (args: string[], cwd = process.cwd()) => spawnSync(process.execPath, [join(process.cwd(), 'bin/cellgen.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CELLGEN_DEBUG: '' } });

describe('cellgen', () => {
  it('reports a spec mistake with file:line:col, a caret and a hint, exit code 1 and no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-'));
    cpSync('cells/gru.cell.yaml', join(dir, 'gru.cell.yaml'));
    const text = readFileSync(join(dir, 'gru.cell.yaml'), 'utf8').replace('U_z * h_prev', 'U_z * h_pre');
    writeFileSync(join(dir, 'gru.cell.yaml'), text);
    const r = cellgen(['build', '--cells', dir, '--out', join(dir, 'out')]);
    expect(r.status).toBe(1);
    const line = text.split('\n').findIndex((l) => l.includes('h_pre ')) + 1;
    expect(r.stderr).toContain(`${join(dir, 'gru.cell.yaml')}:${line}:`);
    expect(r.stderr).toContain("did you mean 'h_prev'?");
    expect(r.stderr).toMatch(/\^{5}/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('leaves the output folder exactly as it was when a build fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-'));
    const out = join(dir, 'out');
    cpSync('cells/rnn-tanh.cell.yaml', join(dir, 'rnn-tanh.cell.yaml'));
    expect(cellgen(['build', '--no-verify', '--cells', dir, '--out', out]).status).toBe(0);
    const before = listFiles(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]);
    cpSync('cells/gru.cell.yaml', join(dir, 'gru.cell.yaml'));
    writeFileSync(join(dir, 'zz.cell.yaml'), 'name: zz\ntitle: broken\nsizes: {hidden: 3}\ninputs: {x: hidden}\nstate: {h: hidden}\nparameters: {}\nequations:\n  h: tanh(x + q)\n');
    expect(cellgen(['build', '--no-verify', '--cells', dir, '--out', out]).status).toBe(1);
    expect(listFiles(out).map((f) => [f, readFileSync(join(out, f), 'utf8')])).toEqual(before);
    expect(existsSync(join(out, 'ts/gru.ts'))).toBe(false);
  });

  it('--check passes on a fresh build and names the files that differ', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-'));
    const out = join(dir, 'out');
    cpSync('cells/mingru.cell.yaml', join(dir, 'mingru.cell.yaml'));
    expect(cellgen(['build', '--no-verify', '--cells', dir, '--out', out]).status).toBe(0);
    expect(cellgen(['build', '--check', '--cells', dir, '--out', out]).status).toBe(0);
    writeFileSync(join(out, 'ts/mingru.ts'), '// edited\n');
    const r = cellgen(['build', '--check', '--cells', dir, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(out, 'ts/mingru.ts'));
  });

  it('new writes a spec that builds, and --from copies a cell under a new name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-'));
    expect(cellgen(['new', 'my-cell', '--cells', dir]).status).toBe(0);
    cpSync('cells/lstm.cell.yaml', join(dir, 'lstm.cell.yaml'));
    expect(cellgen(['new', 'my-lstm', '--from', 'lstm', '--cells', dir]).status).toBe(0);
    expect(readFileSync(join(dir, 'my-lstm.cell.yaml'), 'utf8')).toMatch(/^name: my-lstm$/m);
    expect(cellgen(['new', 'my-cell', '--cells', dir]).status).toBe(1);
    const r = cellgen(['build', '--cells', dir, '--out', join(dir, 'out')]);
    expect(r.stderr + r.stdout).toContain('my-lstm');
    expect(r.status).toBe(0);
  });

  it('prints help for every command', () => {
    for (const args of [['--help'], ['build', '--help'], ['new', '--help']]) {
      const r = cellgen(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: cellgen/);
    }
  });
});
