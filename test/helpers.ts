// Shared test helpers: the shipped cells, compiled once per test file.

import { readdirSync, readFileSync } from 'node:fs';
import { type CompiledCell, compileCell } from '../src/derive/compile.js';

export const CELL_NAMES = readdirSync('cells').filter((f) => f.endsWith('.cell.yaml')).map((f) => f.replace(/\.cell\.yaml$/, '')).sort();

export function shipped(name: string): CompiledCell {
  return compileCell(readFileSync(`cells/${name}.cell.yaml`, 'utf8'), `cells/${name}.cell.yaml`);
}

export function inline(text: string, file = 'test/inline.cell.yaml'): CompiledCell {
  return compileCell(text, file);
}
