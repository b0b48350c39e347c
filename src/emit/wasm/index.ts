// The CPU kernel module of a cell: the TypeScript f32/f64 kernels plus the WebAssembly SIMD kernels
// printed from the same schedule.

import type { CompiledCell } from '../../derive/compile.js';
import { emitTsModule, type TsModule } from '../ts/module.js';
import { wasmGlue } from './glue.js';
import { emitWasm } from './module.js';

export { emitWasm } from './module.js';

export function emitCpuModule(c: CompiledCell, command: string): TsModule {
  const ts = emitTsModule(c, command);
  const w = emitWasm(c, ts.program);
  return { ...ts, text: ts.text + wasmGlue(c, ts.program, w) };
}
