// Valid but unusual specs compile, and their derived gradients agree with finite differences.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gradCheck, randomProblem } from '../../src/check/gradcheck.js';
import { compileCell } from '../../src/derive/compile.js';
import { showShape } from '../../src/ir/shape.js';

const DIR = 'test/fixtures/good';
const compile = (name: string) => compileCell(readFileSync(`${DIR}/${name}`, 'utf8'), `${DIR}/${name}`);

describe('unusual valid specs', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.cell.yaml')))('%s compiles and passes a gradient check', (name) => {
    const c = compile(name);
    const p = randomProblem(c, { steps: 3, batch: 2, seed: 7 });
    for (const e of gradCheck(c, p)) expect(e.maxRelErr, e.tensor).toBeLessThan(1e-6);
  });

  it('a custom activation becomes a function with a derivative helper', () => {
    const c = compile('swish-rnn.cell.yaml');
    expect(c.cell.fns.has('swish')).toBe(true);
    expect(c.cell.fns.get('swish_grad').helper).toBe(true);
  });

  it('stacked notation accepts sums and multiples of sizes as dimensions', () => {
    const c = compile('stacked-gru.cell.yaml');
    expect(showShape(c.spec.params.find((p) => p.name === 'W_h')!.shape)).toBe(showShape(c.spec.params.find((p) => p.name === 'W_z')!.shape).replace('hidden + input', '2 hidden + input'));
  });

  it('an equation over several lines reads as one expression', () => {
    const c = compile('stacked-gru.cell.yaml');
    expect(c.cell.equations.map((e) => e.name)).toEqual(['z', 'r', 'h_cand', 'h']);
  });
});
