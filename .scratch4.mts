import { compileCell } from './src/derive/compile.js'; import { emitWgsl } from './src/emit/wgsl/index.js'; import { CUSTOM_CELL } from './test/emit/wgsl/fixture.js';
const o = emitWgsl(compileCell(CUSTOM_CELL, 'x.yaml')); for (const m of (o.shaders.backward+o.shaders.forward).matchAll(/\/\/ [a-z_]+\(x\)[\s\S]*?\n}/g)) console.log(m[0]);
