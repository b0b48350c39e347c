// Printers scale with the size of what they print: a deeply nested activation body, and a function with many locals
// of one name, are printed in time proportional to their size (both were exponential or quadratic once).

import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { FnBuilder, v128 } from '../../src/emit/wasm/builder.js';
import { WgslFunctions } from '../../src/emit/wgsl/functions.js';
import { FnTable } from '../../src/ir/functions.js';
import { parse } from '../../src/spec/mathjs.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { emitWgsl } from '../../src/emit/wgsl/index.js';
import { cellText } from '../cell-text.js';
import { inline } from '../helpers.js';

const nested = (fn: string, depth: number): string => `${fn}(`.repeat(depth) + 'x' + ')'.repeat(depth);

describe('printing large activations', () => {
  it('WGSL prints a body of 60 nested calls once per call (each argument printed once)', () => {
    const fns = new FnTable();
    fns.add({ name: 'f', eval: (x) => x, vjp: (dy) => dy, custom: { param: 'x', body: parse(nested('sigmoid', 60)), source: 'f', terms: 121 } });
    const w = new WgslFunctions(fns);
    expect(w.helperFor('f')).toBe('act_f_');
    const src = w.sources().find((s) => s.includes('fn act_f_'))!;
    expect(src.split('sigmoid_(').length - 1).toBe(60);
  });

  it('a wasm function takes 100000 locals of one name, each with its own slot and name', () => {
    const f = new FnBuilder(new binaryen.Module(), []);
    let last = '';
    for (let i = 0; i < 100_000; i++) last = f.local('t', v128);
    expect(last).toBe('t_100000');
    expect(f.vars.length).toBe(100_000);
  });

  it('a cell calling an activation of 20 nested sigmoids three times emits every target', () => {
    const c = inline(
      cellText({
        name: 'nested-act',
        title: 'A deeply nested activation',
        parameters: { W: '[hidden, input]', U: '[hidden, hidden]' },
        activations: { f: nested('sigmoid', 20) },
        equations: { a: 'f(W * x)', h: 'tanh(f(U * h_prev) + f(a))' },
      }),
      'test/nested-act.cell.yaml',
    );
    expect(emitWgsl(c).shaders.backward).toContain('fn act_f_grad_(');
    expect(emitCpuModule(c, 'test').text).toContain('export const wasm');
  });
});
