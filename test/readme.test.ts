// The README's import example runs as written against the built package.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs the import example', () => {
    const readme = readFileSync('README.md', 'utf8');
    const m = /<!-- example -->\s*```js\n([\s\S]*?)```/.exec(readme);
    expect(m, 'the README has an example block').not.toBeNull();
    // The example imports the package by name, which resolves to dist/ (built by `npm ci`'s prepare).
    const built = 'dist/generated/ts/gru.js';
    if (!existsSync(built) || statSync(built).mtimeMs < statSync('generated/ts/gru.ts').mtimeMs) execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
    mkdirSync('.tmp', { recursive: true });
    writeFileSync('.tmp/readme-example.mjs', m![1]!);
    const r = spawnSync(process.execPath, ['.tmp/readme-example.mjs'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${5 * 2 * 4} ${4 * 3} ${5 * 2 * 3}`);
  });
});
