// Where the cellgen package is installed: its root (package.json, shipped cells/), found by walking up
// from this module so the same code works from src/ (tests) and from dist/src/ (the command).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'cellgen') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`invariant: cellgen's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The cells shipped with cellgen (its own cells/ folder). */
export function shippedCellsDir(): string {
  return join(packageRoot(), 'cells');
}
