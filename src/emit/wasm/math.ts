// Vectorised f32x4 elementwise functions (Cephes-style range reduction + minimax polynomials).
//
// Maximum errors (the Cephes single-precision bounds of these reductions; the kernels' tests check
// every cell and activation sweep over -1e4..1e4 against float64 within the f32 tolerances):
//   exp, sigmoid, softplus, log: ≤ 4 ulp relative (≈ 5e-7); tanh: ≤ 3e-7 absolute;
//   sin, cos: ≤ 2e-7 absolute for |x| ≤ 100, ≤ 1e-3 absolute up to |x| = 1e4 (f32 rounding of x
//   dominates there). exp saturates at exp(88) ≈ 1.65e38 instead of overflowing to Infinity, so no
//   function returns NaN or Infinity where its float64 value is finite.

import binaryen from 'binaryen';
import { FnBuilder, v128, Vec, type X } from './builder.js';

type Body = (f: FnBuilder, V: Vec, x: () => X, call: (fn: string, a: X) => X) => X;

const LOG2E = 1.44269504088896341;
const EXP_C1 = 0.693359375;
const EXP_C2 = -2.12194440e-4;
const EXP_P = [1, 1, 5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];
const LOG_P = [3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1, 1.4249322787e-1, -1.2420140846e-1, 1.1676998740e-1, -1.1514610310e-1, 7.0376836292e-2];
const TANH_P = [-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2, -5.70498872745e-3];
const SIN_P = [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4];
const COS_P = [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5];
const DP = [0.78515625, 2.4187564849853515625e-4, 3.77489497744594108e-8];

/** sin or cos by octant: Cephes sinf/cosf with three-part π/4 reduction. */
const sincos = (cos: boolean): Body => (f, V, x) => {
  const m = f.m;
  const ax = f.local('ax', v128), j = f.local('j', v128), y = f.local('y', v128), z = f.local('z', v128), zz = f.local('zz', v128), sign = f.local('sign', v128);
  const lanes = (k: number) => V.isplat(k);
  const stmts: X[] = [
    f.set(ax, m.f32x4.abs(x())),
    // j = (int)(|x| 4/π), rounded up to even
    f.set(j, m.v128.and(m.i32x4.add(m.i32x4.trunc_sat_f32x4_s(V.mul(f.get(ax), V.splat(4 / Math.PI))), lanes(1)), lanes(~1))),
    f.set(y, m.f32x4.convert_i32x4_s(f.get(j))),
  ];
  if (cos) {
    stmts.push(f.set(j, m.i32x4.sub(f.get(j), lanes(2))));
    stmts.push(f.set(sign, m.i32x4.shl(m.v128.and(m.v128.not(f.get(j)), lanes(4)), m.i32.const(29))));
  } else {
    stmts.push(f.set(sign, m.v128.xor(m.v128.and(x(), lanes(0x80000000 | 0)), m.i32x4.shl(m.v128.and(f.get(j), lanes(4)), m.i32.const(29)))));
  }
  stmts.push(
    f.set(z, V.sub(V.sub(V.sub(f.get(ax), V.mul(f.get(y), V.splat(DP[0]!))), V.mul(f.get(y), V.splat(DP[1]!))), V.mul(f.get(y), V.splat(DP[2]!)))),
    f.set(zz, V.mul(f.get(z), f.get(z))),
  );
  const cosPoly = V.add(V.sub(V.mul(V.mul(V.poly(() => f.get(zz), COS_P), f.get(zz)), f.get(zz)), V.mul(V.splat(0.5), f.get(zz))), V.splat(1));
  const sinPoly = V.add(V.mul(V.mul(V.poly(() => f.get(zz), SIN_P), f.get(zz)), f.get(z)), f.get(z));
  const useSin = m.i32x4.eq(m.v128.and(f.get(j), lanes(2)), lanes(0));
  return m.block(null, [...stmts, m.v128.xor(V.select(useSin, sinPoly, cosPoly), f.get(sign))], v128);
};

const BODIES: Record<string, Body> = {
  // e^x = 2^n e^r, n = round(x log2 e), |r| ≤ ln2/2; x clamped to [-87.3, 88] (no overflow to ∞)
  exp: (f, V, x) => {
    const m = f.m;
    const xc = f.local('xc', v128), n = f.local('n', v128), r = f.local('r', v128);
    return m.block(null, [
      f.set(xc, m.f32x4.pmax(m.f32x4.pmin(x(), V.splat(88)), V.splat(-87.3))),
      // pmin/pmax keep NaN out of the clamp: restore it
      f.set(xc, V.select(m.f32x4.eq(x(), x()), f.get(xc), x())),
      f.set(n, m.f32x4.nearest(V.mul(f.get(xc), V.splat(LOG2E)))),
      f.set(r, V.sub(V.sub(f.get(xc), V.mul(f.get(n), V.splat(EXP_C1))), V.mul(f.get(n), V.splat(EXP_C2)))),
      V.mul(V.poly(() => f.get(r), EXP_P), m.i32x4.shl(m.i32x4.add(m.i32x4.trunc_sat_f32x4_s(f.get(n)), V.isplat(127)), m.i32.const(23))),
    ], v128);
  },
  // log x = e ln 2 + log m, m ∈ [√½, √2); 0 → -∞, x < 0 or NaN → NaN, ∞ → ∞; denormals scaled first
  log: (f, V, x) => {
    const m = f.m;
    const xs = f.local('xs', v128), e = f.local('e', v128), mm = f.local('mm', v128), small = f.local('small', v128), lt = f.local('lt', v128), z = f.local('z', v128), y = f.local('y', v128);
    return m.block(null, [
      f.set(small, m.f32x4.lt(x(), V.splat(1.1754943508222875e-38))),
      f.set(xs, V.select(f.get(small), V.mul(x(), V.splat(33554432)), x())),
      f.set(e, m.f32x4.convert_i32x4_s(m.i32x4.sub(m.i32x4.shr_u(f.get(xs), m.i32.const(23)), V.isplat(126)))),
      f.set(e, V.sub(f.get(e), m.v128.and(f.get(small), V.splat(25)))),
      f.set(mm, m.v128.or(m.v128.and(f.get(xs), V.isplat(0x807fffff | 0)), V.isplat(0x3f000000))),
      f.set(lt, m.f32x4.lt(f.get(mm), V.splat(0.707106781186547524))),
      f.set(e, V.sub(f.get(e), m.v128.and(f.get(lt), V.splat(1)))),
      f.set(mm, V.sub(V.add(f.get(mm), m.v128.and(f.get(lt), f.get(mm))), V.splat(1))),
      f.set(z, V.mul(f.get(mm), f.get(mm))),
      f.set(y, V.mul(V.mul(V.poly(() => f.get(mm), LOG_P), f.get(mm)), f.get(z))),
      f.set(y, V.add(f.get(y), V.mul(f.get(e), V.splat(EXP_C2)))),
      f.set(y, V.sub(f.get(y), V.mul(f.get(z), V.splat(0.5)))),
      f.set(y, V.add(V.add(f.get(mm), f.get(y)), V.mul(f.get(e), V.splat(EXP_C1)))),
      f.set(y, V.select(m.f32x4.eq(x(), V.splat(Infinity)), x(), f.get(y))),
      f.set(y, V.select(m.f32x4.eq(x(), V.splat(0)), V.splat(-Infinity), f.get(y))),
      V.select(m.f32x4.ge(x(), V.splat(0)), f.get(y), V.splat(NaN)),
    ], v128);
  },
  // small |x|: odd polynomial; else sign(x) (1 - 2 / (e^{2|x|} + 1))
  tanh: (f, V, x, call) => {
    const m = f.m;
    const ax = f.local('ax', v128), z = f.local('z', v128);
    return m.block(null, [
      f.set(ax, m.f32x4.abs(x())),
      f.set(z, V.mul(x(), x())),
      V.select(m.f32x4.lt(f.get(ax), V.splat(0.625)),
        V.add(V.mul(V.mul(V.poly(() => f.get(z), TANH_P), f.get(z)), x()), x()),
        m.v128.or(V.sub(V.splat(1), V.div(V.splat(2), V.add(call('exp', V.add(f.get(ax), f.get(ax))), V.splat(1)))), m.v128.and(x(), V.isplat(0x80000000 | 0)))),
    ], v128);
  },
  sigmoid: (_f, V, x, call) => V.div(V.splat(1), V.add(V.splat(1), call('exp', V.m.f32x4.neg(x())))),
  // max(x, 0) + log1p(e^{-|x|}); log1p(u) = log(1 + u) u / ((1 + u) - 1), exact when 1 + u rounds to 1
  softplus: (f, V, x, call) => {
    const m = f.m;
    const u = f.local('u', v128), w = f.local('w', v128);
    return m.block(null, [
      f.set(u, call('exp', m.f32x4.neg(m.f32x4.abs(x())))),
      f.set(w, V.add(V.splat(1), f.get(u))),
      V.add(m.f32x4.max(x(), V.splat(0)), V.select(m.f32x4.eq(f.get(w), V.splat(1)), f.get(u), V.div(V.mul(call('log', f.get(w)), f.get(u)), V.sub(f.get(w), V.splat(1))))),
    ], v128);
  },
  sin: sincos(false),
  cos: sincos(true),
  sqrt: (f, _V, x) => f.m.f32x4.sqrt(x()),
  abs: (f, _V, x) => f.m.f32x4.abs(x()),
  neg: (f, _V, x) => f.m.f32x4.neg(x()),
  relu: (f, V, x) => f.m.v128.and(x(), f.m.f32x4.gt(x(), V.splat(0))),
  step: (f, V, x) => f.m.v128.and(V.splat(1), f.m.f32x4.gt(x(), V.splat(0))),
  sign: (f, V, x) => f.m.v128.or(f.m.v128.and(V.splat(1), f.m.f32x4.gt(x(), V.splat(0))), f.m.v128.and(V.splat(-1), f.m.f32x4.lt(x(), V.splat(0)))),
  // helpers that appear in derivatives printed by mathjs
  sinh: (_f, V, x, call) => V.mul(V.splat(0.5), V.sub(call('exp', x()), call('exp', V.m.f32x4.neg(x())))),
  cosh: (_f, V, x, call) => V.mul(V.splat(0.5), V.add(call('exp', x()), call('exp', V.m.f32x4.neg(x())))),
  sech: (_f, V, x, call) => V.div(V.splat(2), V.add(call('exp', x()), call('exp', V.m.f32x4.neg(x())))),
  csch: (_f, V, x, call) => V.div(V.splat(2), V.sub(call('exp', x()), call('exp', V.m.f32x4.neg(x())))),
  sec: (_f, V, x, call) => V.div(V.splat(1), call('cos', x())),
};

export const MATH_FUNCTIONS = Object.keys(BODIES);

/** `fn` applied to `a`, inlined into the function that f builds (its locals are f's; no call). */
export function inlineMath(f: FnBuilder, fn: string, a: X): X {
  const body = BODIES[fn];
  if (!body) throw new Error(`the WebAssembly printer has no vector function '${fn}'`);
  const t = f.local(`in_${fn}`, v128);
  return f.m.block(null, [f.set(t, a), body(f, new Vec(f.m), () => f.get(t), (g, b) => inlineMath(f, g, b))], v128);
}

/** Adds the vector function `fn` (and what it calls) to the module once; returns its wasm name. */
export function mathFunction(m: binaryen.Module, defined: Set<string>, fn: string): string {
  const name = `m_${fn}`;
  if (defined.has(name)) return name;
  const body = BODIES[fn];
  if (!body) throw new Error(`the WebAssembly printer has no vector function '${fn}'`);
  defined.add(name);
  const f = new FnBuilder(m, [['x', v128]]);
  const V = new Vec(m);
  const call = (g: string, a: X): X => m.call(mathFunction(m, defined, g), [a], v128);
  f.add(name, body(f, V, () => f.get('x'), call), v128);
  return name;
}

export { binaryen };
