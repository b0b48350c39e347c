import { readFileSync } from 'node:fs';
import { compileCell } from './src/derive/compile.js'; import { emitWgsl } from './src/emit/wgsl/index.js';
const f = process.argv[2]!;
console.log(emitWgsl(compileCell(readFileSync(f, 'utf8'), f)).module);
