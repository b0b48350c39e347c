// The build's numeric checks (src/build/work.ts verifyCell, src/check/gradcheck.ts quickGradCheck) are cheap, but
// they still refuse a derivation with any wrong gradient and kernels that disagree with the reference.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/build/cell.js';
import { emitCell, verifyCell } from '../../src/build/work.js';
import { quickGradCheck, randomProblem } from '../../src/check/gradcheck.js';
import { importTs, type KernelModule } from '../../src/check/kernels.js';

type KernelFns = KernelModule['f64'];
import { type CompiledCell, compileCell } from '../../src/derive/compile.js';
import type { GradTerm } from '../../src/derive/reverse.js';
import { constant, type Expr, mul } from '../../src/ir/expr.js';

const cell = (name: string): CompiledCell => compileCell(readFileSync(`cells/${name}.cell.yaml`, 'utf8'), `cells/${name}.cell.yaml`);
const off = (e: Expr): Expr => mul(e, constant(1 + 1e-4));
const spoilGrad = (g: GradTerm): GradTerm => (g.kind === 'outer' ? { ...g, dy: off(g.dy) } : { ...g, g: off(g.g) });
const check = (c: CompiledCell) => quickGradCheck(c, randomProblem(c, { steps: 6, batch: 2, seed: 1 }), 3);

describe('build-time gradient check', () => {
  it('passes the derived gradients and refuses a gradient off by 1e-4 in any one parameter', () => {
    const c = cell('lstm-peephole');
    expect(check(c).worst).toBeLessThan(LIMITS.gradCheck);
    const params = [...new Set(c.bw.grads.map((g) => g.param))];
    expect(params.length).toBe(c.cell.params.length);
    for (const p of params) {
      const bad = { ...c, bw: { ...c.bw, grads: c.bw.grads.map((g) => (g.param === p ? spoilGrad(g) : g)) } };
      const r = check(bad);
      expect(r.worst, p).toBeGreaterThan(LIMITS.gradCheck);
      expect(r.tensor, p).toBe(p);
    }
  });

  it('refuses a wrong adjoint of a carried state or of the input', () => {
    const c = cell('gru');
    for (const s of c.bw.prevAdjoint.keys()) {
      const bad = { ...c, bw: { ...c.bw, prevAdjoint: new Map([...c.bw.prevAdjoint].map(([k, e]) => [k, k === s ? off(e) : e])) } };
      expect(check(bad).worst, s).toBeGreaterThan(LIMITS.gradCheck);
    }
    const x = [...c.bw.inputAdjoint.keys()][0]!;
    const bad = { ...c, bw: { ...c.bw, inputAdjoint: new Map([...c.bw.inputAdjoint].map(([k, e]) => [k, k === x ? off(e) : e])) } };
    expect(check(bad).worst).toBeGreaterThan(LIMITS.gradCheck);
  });
});

describe('build-time kernel check', () => {
  it('passes the emitted kernels and refuses kernels whose float32 or wasm backward is slightly off', async () => {
    const c = cell('mgu');
    const ts = emitCell(c, 'test').files.find(([p]) => p === 'ts/mgu.ts')![1];
    const mod = await importTs(ts);
    expect(() => verifyCell(c, mod, LIMITS)).not.toThrow();
    for (const prec of ['f64', 'f32', 'wasm'] as const) {
      const k: KernelFns = mod[prec]!;
      const backward: KernelFns['backward'] = (tape, d) => {
        const r = k.backward(tape, d);
        const first = Object.values(r.init)[0]!;
        first[0] = first[0]! * 1.01 + 0.01;
        return r;
      };
      const spoilt: KernelModule = { ...mod, [prec]: { forward: k.forward, backward } };
      expect(() => verifyCell(c, spoilt, LIMITS), prec).toThrow(/disagree with the reference/);
    }
  });
});
