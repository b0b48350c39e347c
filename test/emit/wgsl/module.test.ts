// The emitted WGSL and runner modules without a device: they type-check, keep exp bounded, and split steps as designed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { allCells } from './fixture.js';

const cells = allCells();
const byName = new Map(cells.map((x) => [x.cell.spec.name, x.cell]));

mkdirSync('.tmp', { recursive: true });
const dir = mkdtempSync(join('.tmp', 'wgsl-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('emitWgsl', () => {
  it('emits runner modules that type-check under the project tsconfig', () => {
    const files = cells.map(({ cell }) => {
      const f = join(dir, `${cell.spec.name}.ts`);
      writeFileSync(f, emitWgsl(cell).module);
      return f;
    });
    const config = ts.readConfigFile('tsconfig.json', (f) => ts.sys.readFile(f));
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, process.cwd());
    const program = ts.createProgram(files, { ...options, noEmit: true });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(diags).toEqual([]);
  });

  it('is deterministic', () => {
    for (const { cell } of cells) expect(emitWgsl(cell)).toEqual(emitWgsl(cell));
  });

  it('gives exp only bounded arguments (WGSL leaves overflow undefined)', () => {
    const bounded = /^exp\((-min\(abs\(x\), 80\.0\)|-2\.0 \* min\(abs\(x\), 20\.0\)|min\(x, 88\.0\)|min\(abs\(x\), 88\.0\))\)/;
    for (const { cell } of cells) {
      for (const text of Object.values(emitWgsl(cell).shaders)) {
        const code = text.replace(/\/\/.*$/gm, '');
        const calls = [...code.matchAll(/\bexp\(/g)].map((m) => code.slice(m.index));
        for (const c of calls) expect(c).toMatch(bounded);
      }
    }
  });

  it('prints custom activations and their derivatives in stable forms (no exp that can overflow)', () => {
    const { backward, forward } = emitWgsl(byName.get('swish-rnn')!).shaders;
    expect(forward).toContain('// swish(x) = x * sigmoid(x)\nfn act_swish_(x: f32) -> f32 {\n  return x * sigmoid_(x);\n}');
    expect(forward).toContain('fn act_softsign_(x: f32) -> f32 {\n  return x / (1.0 + abs_(x));\n}');
    // (u / v)' = (u' - (u / v) v') / v: no v², which overflows long before v does
    expect(backward).toContain('fn act_softsign_grad_(x: f32) -> f32 {\n  return (1.0 - x / (1.0 + abs_(x)) * sign_(x)) / (1.0 + abs_(x));\n}');
    // swish' = σ(x) + x σ(x) σ(-x), not (e^-x (x + 1) + 1) / (e^-x + 1)², which is NaN once e^-x overflows
    expect(backward).toContain('fn act_swish_grad_(x: f32) -> f32 {\n  return sigmoid_(x) + x * (sigmoid_(x) * sigmoid_(-x));\n}');
  });

  it('hoists input projections before the loop and splits GRU steps at U_h (r .* h_prev)', () => {
    const out = emitWgsl(byName.get('gru')!);
    const k = out.kernels;
    const scopes = (ds: readonly { scope: string; kind: string }[]) => ds.map((d) => `${d.scope}:${d.kind}`).join(' ');
    // W_z x, W_h x, W_r x as one GEMM over all steps (their outputs stacked along n, N = 3 H, each stored in its
    // own slot); the recurrent products fused with the gates in the loop.
    expect(scopes(k.forward.dispatches)).toBe('pre:gemm loop:tile loop:tile');
    expect(out.shaders.forward).toContain('let n_size_ = 3u * size_hidden_;');
    // δ of the candidate, then the products through U_h and U_z, then U_r: three phases; dx after the loop
    // from one GEMM over W_rᵀ, W_hᵀ, W_zᵀ concatenated along k (K = 3 H), written straight into dxs.
    expect(scopes(k.backward.dispatches)).toBe('loop:tile loop:tile loop:tile post:gemm');
    const dxStores = [...out.shaders.backward!.matchAll(/\n {2}dxs_\[[^\n]*\] (\+?=) v_;/g)].map((m) => m[1]);
    expect(dxStores).toEqual(['=']);
    expect(out.shaders.backward).toContain('let k_size_ = 3u * size_hidden_;');
    expect(out.shaders.backward).not.toMatch(/BW_W_[a-z]T_/);
    // The weight gradients of one v are one GEMM, their rows stacked: W_z, W_r, W_h (of x) and U_z, U_r (of h_prev);
    // U_h's v is r .* h_prev.
    expect(k.backward.reductions.map((r) => `${r.params.join('+')}:${r.kind}`).sort()).toEqual(['U_h:gemm', 'U_z+U_r:gemm', 'W_z+W_r+W_h:gemm', 'b_h:sum', 'b_r:sum', 'b_z:sum']);
    expect(k.backward.reductions.find((r) => r.params.includes('W_r'))!.shape).toEqual([{ terms: [['hidden', 3]], constant: 0 }, { terms: [['input', 1]], constant: 0 }]);
  });

  it('runs minGRU, whose gates read the input alone, with one dispatch per step each way', () => {
    const k = emitWgsl(byName.get('mingru')!).kernels;
    expect(k.forward.dispatches.filter((d) => d.scope === 'loop')).toHaveLength(1);
    expect(k.backward.dispatches.filter((d) => d.scope === 'loop')).toHaveLength(1);
  });

  it('needs no more storage buffers per stage than WebGPU grants by default', () => {
    for (const { cell } of cells) expect(emitWgsl(cell).kernels.requiredLimits.maxStorageBuffersPerShaderStage).toBeLessThanOrEqual(8);
  });

  it("keeps every entry point's workgroup memory within WebGPU's default 16 KiB", () => {
    const bytes = { 'f32': 4, 'vec4<f32>': 16 } as Record<string, number>;
    let entries = 0;
    const names = new Set<string>();
    for (const { cell } of cells)
      for (const shader of Object.values(emitWgsl(cell).shaders)) {
        const shared = [...shader.matchAll(/var<workgroup> (\w+): array<(f32|vec4<f32>), (\d+)>;/g)].map((m) => ({ name: m[1]!, size: bytes[m[2]!]! * Number(m[3]) }));
        for (const s of shared) names.add(s.name);
        for (const m of shader.matchAll(/@compute[^\n]*\nfn (\w+)\([^]*?\n}\n/g)) {
          const used = shared.filter((s) => new RegExp(`\\b${s.name}\\[`).test(m[0]));
          expect(used.reduce((n, s) => n + s.size, 0), m[1]).toBeLessThanOrEqual(16384);
          entries++;
        }
      }
    expect([...names].sort()).toEqual(['gemm_a_', 'gemm_b_', 'tile_m_', 'tile_v_']);
    expect(entries).toBeGreaterThan(cells.length * 4);
  });

  it('imports the runtime as generated/wgsl/<cell>.ts would, or as told', () => {
    const c = byName.get('rnn-tanh')!;
    expect(emitWgsl(c).module).toContain("from '../../src/runtime/webgpu/index.js'");
    expect(emitWgsl(c, { runtimeImport: 'cellgen/runtime/webgpu' }).module).toContain("from 'cellgen/runtime/webgpu'");
  });
});
