// The names of the cells shipped with cellgen.

import { readdirSync } from 'node:fs';
import { shippedCellsDir } from './package.js';

export function shippedNames(): string[] {
  return readdirSync(shippedCellsDir()).filter((f) => f.endsWith('.cell.yaml')).map((f) => f.slice(0, -'.cell.yaml'.length)).sort();
}
