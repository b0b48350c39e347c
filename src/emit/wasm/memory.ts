// Memory helpers exported by every module for the runtime (src/emit/wasm/runtime.ts).

import binaryen from 'binaryen';
import { FnBuilder, i32 } from './builder.js';

export const SAME = 'same';

/** same(a, b, bytes): 1 when the two ranges hold the same bits (bytes a multiple of 16, both 16-aligned). */
export function addSame(m: binaryen.Module): void {
  const f = new FnBuilder(m, [['a', i32], ['b', i32], ['bytes', i32]]);
  const k = f.local('k', i32);
  const g = (n: string) => f.get(n);
  f.add(SAME, m.block(null, [
    f.forLoop(k, f.c(0), m.i32.lt_u(g(k), g('bytes')), f.iadd(g(k), f.c(16)), [
      m.if(m.i32.eqz(m.i32x4.all_true(m.i32x4.eq(m.v128.load(0, 16, f.iadd(g('a'), g(k))), m.v128.load(0, 16, f.iadd(g('b'), g(k)))))), m.return(f.c(0))),
    ], 'sk'),
    m.return(f.c(1)),
  ]), i32);
  m.addFunctionExport(SAME, SAME);
}
