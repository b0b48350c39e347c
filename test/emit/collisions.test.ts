// Spec names that generated code, the targets' built-ins or Object.prototype also use: the cell builds, its kernels
// match the float64 reference, and the public objects keep the user's names as keys.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkKernels, importTs, type KernelModule } from '../../src/check/kernels.js';
import { compileCell } from '../../src/derive/compile.js';
import { emitTsModule } from '../../src/emit/ts/module.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { emitWgsl } from '../../src/emit/wgsl/index.js';
import { typeCheckTs } from './collisions-fixture.js';
import { KEYWORD_CELL } from '../user-cells.js';
import { COLLIDING_CELL } from './wgsl/fixture.js';

describe('spec names that generated code also uses', () => {
  const c = compileCell(COLLIDING_CELL, 'collide.cell.yaml');

  it('emit TypeScript that type-checks and matches the float64 reference in both precisions', async () => {
    const mod = emitTsModule(c, 'cellgen build');
    expect(typeCheckTs(mod.text)).toEqual([]);
    const m = await importTs(mod.text);
    const r = checkKernels(c, m, { steps: 4, batch: 2, seed: 5, sizes: { batch: 3, steps: 5 } });
    expect(r.f64).toBeLessThan(1e-10);
    expect(r.f32).toBeLessThan(1e-4);
  });

  it('keep the user names as keys of the public objects', async () => {
    const m = (await importTs(emitTsModule(c, 'cellgen build').text)) as unknown as {
      paramShapes: (s: Record<string, number>) => Record<string, number[]>;
      f64: { forward: (...a: unknown[]) => { states: Record<string, Float64Array>; tape: unknown }; backward: (t: unknown, d: object) => { params: object; inputs: object; init: object } };
    };
    const sizes = { batch: 3, steps: 5 };
    const shapes = m.paramShapes(sizes);
    expect(Object.keys(shapes).sort()).toEqual(['Math', 'checkLengths', 'f32', 'gemmNN', 'gemmNT', 'gemmTN', 'own', 'packRows', 'select', 'unpackRows']);
    expect(shapes.gemmNT).toEqual([5, 3]);
    const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, new Float64Array(s.reduce((a, b) => a * b)).fill(0.1)]));
    const T = 2, B = 2;
    const inputs = { sizes: new Float64Array(T * B * 3).fill(0.5), lengths: new Float64Array(T * B * 5).fill(0.25), toString: new Float64Array(T * B * 5).fill(0.1) };
    // init is empty: an inherited `constructor` must not be read as an initial state.
    const fw = m.f64.forward(sizes, params, inputs, { steps: T, batch: B, init: {} });
    expect(Object.keys(fw.states).sort()).toEqual(['check', 'constructor']);
    expect(Object.prototype.hasOwnProperty.call(fw.states, 'constructor')).toBe(true);
    expect(fw.states.constructor).toBeInstanceOf(Float64Array);
    const g = m.f64.backward(fw.tape, { check: new Float64Array(T * B * 5).fill(1) });
    expect(Object.keys(g.params).sort()).toEqual(Object.keys(shapes).sort());
    expect(Object.keys(g.inputs).sort()).toEqual(['lengths', 'sizes', 'toString']);
    expect(Object.keys(g.init).sort()).toEqual(['check', 'constructor']);
  });

  it('include sizes named after Object.prototype members', async () => {
    const text = readFileSync('cells/rnn-tanh.cell.yaml', 'utf8').replace(/\bhidden\b/g, 'hasOwnProperty').replace(/\binput\b/g, 'constructor');
    const cc = compileCell(text, 'cells/rnn-tanh.cell.yaml');
    const mod = emitTsModule(cc, 'cellgen build');
    expect(typeCheckTs(mod.text)).toEqual([]);
    const r = checkKernels(cc, await importTs(mod.text), { steps: 3, batch: 2, seed: 4, sizes: { constructor: 3, hasOwnProperty: 5, classes: 2 } });
    expect(r.f64).toBeLessThan(1e-10);
  });

  it('emit WGSL whose module-scope names are all distinct and no spec name ends in _', () => {
    const w = emitWgsl(c);
    for (const shader of Object.values(w.shaders)) {
      const decls = [...shader.matchAll(/^(?:override|fn|var<[^>]*>|@group\(0\) @binding\(\d+\) var<[^>]*>)\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!);
      expect(new Set(decls).size).toBe(decls.length);
      expect(shader).toContain('override size_batch_: u32;');
      expect(shader).toContain('override batch_: u32;');
      expect(shader).not.toMatch(/\blet (?:select|dot|max|f32)\b/);
    }
  });
});

describe('spec names that are keywords and built-ins of the targets', () => {
  const c = compileCell(KEYWORD_CELL, 'test/keywords.cell.yaml');
  const mod = emitCpuModule(c, 'cellgen build');
  const sizes = { for: 3, struct: 4, toString: 2 };

  it('emit a TypeScript module (with its WebAssembly glue) that type-checks', () => {
    expect(typeCheckTs(mod.text)).toEqual([]);
    expect(mod.text).toMatch(/\bconst _function = /);
  });

  it('run through the WebAssembly kernels with the user names as keys, read as own properties only', async () => {
    const m = (await importTs(mod.text)) as unknown as { paramShapes: (s: object) => Record<string, number[]>; wasm: KernelModule['f32'] };
    const shapes = m.paramShapes(sizes);
    const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, new Float32Array(s.reduce((a, b) => a * b)).fill(0.1)]));
    const T = 2, B = 2;
    const inputs = { var: new Float32Array(T * B * 3).fill(0.5), arguments: new Float32Array(T * B * 2).fill(0.25) };
    // init and dStates are empty: Object.prototype's constructor must not be taken for the state 'constructor'.
    const fw = m.wasm.forward(sizes, params, inputs, { steps: T, batch: B, init: {} });
    expect(Object.keys(fw.states).sort()).toEqual(['constructor', 'let']);
    expect(fw.states.constructor).toBeInstanceOf(Float32Array);
    const ref = (await importTs(mod.text)).f32.forward(sizes, params, inputs, { steps: T, batch: B, init: {} });
    for (const s of ['let', 'constructor']) for (let i = 0; i < ref.states[s]!.length; i++) expect(fw.states[s]![i]).toBeCloseTo(ref.states[s]![i]!, 5);
    const g = m.wasm.backward(fw.tape, { let: new Float32Array(T * B * 4).fill(1) });
    expect(Object.keys(g.params).sort()).toEqual(Object.keys(shapes).sort());
    expect(Object.keys(g.inputs).sort()).toEqual(['arguments', 'var']);
    expect(Object.keys(g.init).sort()).toEqual(['constructor', 'let']);
    expect([...g.params.function!].some((v) => v !== 0)).toBe(true);
  });

  it('print WGSL with the keywords mapped to _name', () => {
    const w = emitWgsl(c);
    const all = Object.values(w.shaders).join('\n');
    expect(all).not.toMatch(/\b(?:let|var|fn|override) (?:for|struct|function|return|loop|fn|array|f32|u32|workgroup|override|let|var)\b(?!_)/);
  });
});
