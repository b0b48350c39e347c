// The front half of cellgen in one call: spec text -> validated spec -> IR -> derived backward -> costs.

import { lowerCell, type CellIR } from '../ir/lower.js';
import { readSpec } from '../spec/read.js';
import type { CellSpec } from '../spec/types.js';
import { type CellCost, cellCost } from './cost.js';
import { type BackwardStep, derive } from './reverse.js';

export interface CompiledCell {
  readonly spec: CellSpec;
  readonly cell: CellIR;
  readonly bw: BackwardStep;
  readonly cost: CellCost;
}

export function compileCell(text: string, file: string): CompiledCell {
  const spec = readSpec(text, file);
  const cell = lowerCell(spec);
  const bw = derive(cell);
  return { spec, cell, bw, cost: cellCost(cell, bw) };
}

/** Example sizes of a spec, by size name. */
export function exampleSizes(spec: CellSpec): Record<string, number> {
  return Object.fromEntries(spec.sizes.map((s) => [s.name, s.example]));
}
