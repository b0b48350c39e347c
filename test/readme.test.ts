// The README's import example runs as written against the built package.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs the import example', () => {
    const readme = readFileSync('README.md', 'utf8');
    const m = /<!-- example -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    expect(m, 'the README has an example block').not.toBeNull();
    // The example imports the package by name, which resolves to dist/ (bin/compile.js, as `npm run build`).
    execFileSync(process.execPath, ['bin/compile.js']);
    mkdirSync('.tmp', { recursive: true });
    // Types stripped (the package test type-checks the example under strict as a user project would).
    writeFileSync('.tmp/readme-example.mjs', transformSync(m![1]!, { loader: 'ts', format: 'esm' }).code);
    const r = spawnSync(process.execPath, ['.tmp/readme-example.mjs'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${5 * 2 * 4} ${4 * 3} ${5 * 2 * 3}`);
  });
});
