// A long equation (about 50 KB, thousands of terms): it builds through every printer, or, when it is deeper than the
// reader supports, it is refused with file:line:col and exit 1; never a stack overflow. No timing is asserted: the
// vitest timeout only guards against a build that no longer finishes (the printers were quadratic once).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { checkKernels, importTs } from '../../src/check/kernels.js';
import { compileCell } from '../../src/derive/compile.js';
import { recurrentJacobian } from '../../src/derive/jacobian.js';
import { loadTex, TexRenderer } from '../../src/docs/tex.js';
import { cellLatex, jacobianLatex } from '../../src/emit/latex.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { emitWgsl } from '../../src/emit/wgsl/index.js';
import { Diagnostic, formatDiagnostic } from '../../src/spec/diagnostic.js';
import { cellText } from '../cell-text.js';

/** `terms` distinct terms (no two share a subexpression), summed in groups of `group` (the parse depth). */
function longCell(terms: number, group: number): string {
  const t: string[] = [];
  for (let i = 0; i < terms; i++) {
    const k = i + 1000;
    t.push(i % 3 === 0 ? `0.0${k} * tanh(0.${k} * (W * x) + b) .* h_prev` : i % 3 === 1 ? `0.0${k} * sigmoid(0.${k} * (U * h_prev))` : `0.0${k} * x2 .* (b + ${i})`);
  }
  const groups: string[] = [];
  for (let i = 0; i < t.length; i += group) groups.push(`(${t.slice(i, i + group).join(' + ')})`);
  return cellText({
    name: 'long',
    title: 'A long equation',
    inputs: { x: 'input', x2: 'hidden' },
    parameters: { W: '[hidden, input]', U: '[hidden, hidden]', b: 'hidden' },
    equations: { h: `tanh(W * x + U * h_prev + b + ${groups.join(' + ')})` },
    output: 'h',
  });
}

describe('a long equation', () => {
  it('of 1500 distinct terms (about 50 KB) goes through reading, derivation and every printer, and its kernels are right', async () => {
    const text = longCell(1500, 300);
    expect(text.length).toBeGreaterThan(45_000);
    const c = compileCell(text, 'test/long.cell.yaml');
    const mod = emitCpuModule(c, 'test');
    expect(() => transformSync(mod.text, { loader: 'ts', format: 'esm' })).not.toThrow();
    const w = emitWgsl(c);
    expect(Object.keys(w.shaders).length).toBeGreaterThan(0);
    const L = cellLatex(c);
    const big = [...L.forward, ...L.backward].reduce((a, e) => (e.rhs.length > a.rhs.length ? e : a));
    expect(big.rhs.length).toBeGreaterThan(20_000);
    // Rendered as the docs render them, the recurrent Jacobian included (its KaTeX expansions grow with the equation).
    await loadTex();
    const tex = new TexRenderer('long.html');
    const jac = jacobianLatex(c, recurrentJacobian(c.cell, c.bw));
    expect(jac.length).toBeGreaterThan(0);
    for (const e of [...L.forward, ...L.backward, ...L.gradients, ...jac]) tex.equation({ lhs: e.lhs, rhs: e.rhs }, 'a long equation');
    const r = checkKernels(c, await importTs(mod.text), { steps: 2, batch: 1, seed: 3, sizes: { input: 3, hidden: 4 } });
    expect(r.f64).toBeLessThan(1e-9);
  }, 300_000);

  it('of 6000 terms in one chain is refused at the equation with a positioned diagnostic, and the CLI exits 1 with file:line:col', () => {
    const text = longCell(6000, 6000);
    expect(text.length).toBeGreaterThan(100_000);
    let d: unknown;
    try {
      compileCell(text, 'test/long.cell.yaml');
    } catch (e) {
      d = e;
    }
    expect(d).toBeInstanceOf(Diagnostic);
    const line = text.split('\n').findIndex((l) => l.startsWith('  h: tanh')) + 1;
    expect(formatDiagnostic(d as Diagnostic)).toContain(`test/long.cell.yaml:${line}:`);

    const dir = mkdtempSync(join(tmpdir(), 'cellgen-long-'));
    writeFileSync(join(dir, 'long.cell.yaml'), text);
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/cellgen.js'), 'build', '--no-verify', '--no-docs', '--cells', dir, '--out', join(dir, 'out')], { encoding: 'utf8', env: { ...process.env, CELLGEN_DEBUG: '' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'long.cell.yaml')}:${line}:`);
    expect(r.stderr).not.toMatch(/\n\s+at |Maximum call stack/);
  }, 300_000);
});
