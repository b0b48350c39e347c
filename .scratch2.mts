import { readFileSync } from 'node:fs';
import { compileCell } from './src/derive/compile.js';
import { buildKernels } from './src/emit/wgsl/kernels.js';
const f = process.argv[2]!;
const c = compileCell(readFileSync(f,'utf8'), f);
const k = buildKernels(c);
console.log(k.shaders[process.argv[3] as 'forward' ?? 'forward']);
