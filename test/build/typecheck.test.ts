// The build's type-check (off the hot path, `cellgen build --typecheck`): every emitted TypeScript
// module type-checks under strict, and a module with an error is refused.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, camel } from '../../src/build/build.js';
import { typeCheck } from '../../src/build/typecheck.js';

describe('build --typecheck', () => {
  it('passes for every shipped cell', async () => {
    const r = await build({ cellsDir: 'cells', verify: false, docs: false, typecheck: true, log: () => {} });
    expect([...r.tree.keys()].filter((p) => p.startsWith('ts/')).length).toBeGreaterThan(1);
  });

  it('refuses a module that does not type-check', () => {
    expect(() => typeCheck([{ path: 'ts/bad.ts', text: 'export const x: number = "no";\n' }])).toThrow(/does not type-check/);
  });

  it('gives distinct cells distinct exports in ts/index.ts, also when they differ only by a hyphen before a digit', async () => {
    mkdirSync('.tmp', { recursive: true });
    const dir = mkdtempSync(join('.tmp', 'index-names-'));
    try {
      const text = readFileSync('cells/rnn-tanh.cell.yaml', 'utf8');
      for (const name of ['a-1b', 'a1b', 'a-b1']) writeFileSync(join(dir, `${name}.cell.yaml`), text.replace(/^name: .*$/m, `name: ${name}`));
      const r = await build({ cellsDir: dir, verify: false, docs: false, typecheck: true, log: () => {} });
      expect(r.tree.get('ts/index.ts')).toContain("export * as a_1b from './a-1b.js';");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(camel('gru-reset-after')).toBe('gruResetAfter');
  });

  it('names each error by file, line and column on one line, without colour codes', () => {
    let message = '';
    try {
      typeCheck([{ path: 'ts/index.ts', text: "export const a = 1;\nexport const b: number = 'no';\n" }]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^generated TypeScript does not type-check: ts\/index\.ts:2:14 TS2322 Type 'string' is not assignable to type 'number'\.$/);
  });
});
