// The build's type-check (off the hot path, `cellgen build --typecheck`): every emitted TypeScript
// module type-checks under strict, and a module with an error is refused.

import { describe, expect, it } from 'vitest';
import { build } from '../../src/build/build.js';
import { typeCheck } from '../../src/build/typecheck.js';

describe('build --typecheck', () => {
  it('passes for every shipped cell', async () => {
    const r = await build({ cellsDir: 'cells', verify: false, docs: false, typecheck: true, log: () => {} });
    expect([...r.tree.keys()].filter((p) => p.startsWith('ts/')).length).toBeGreaterThan(1);
  });

  it('refuses a module that does not type-check', () => {
    expect(() => typeCheck([{ path: 'ts/bad.ts', text: 'export const x: number = "no";\n' }])).toThrow(/does not type-check/);
  });
});
