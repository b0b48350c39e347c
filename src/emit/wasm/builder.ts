// A thin layer over binaryen's API: locals by name, f32x4 arithmetic and i32 index arithmetic.

import binaryen from 'binaryen';

export type X = number; // a binaryen ExpressionRef
export const { i32, v128, none } = binaryen;

/** Builds one function: named locals, then the body. */
export class FnBuilder {
  readonly vars: number[] = [];
  private readonly index = new Map<string, { i: number; type: number }>();
  private nextLocal: number;
  private readonly suffix = new Map<string, number>();

  constructor(readonly m: binaryen.Module, readonly params: readonly (readonly [string, number])[]) {
    params.forEach(([n, t], i) => this.index.set(n, { i, type: t }));
    this.nextLocal = params.length;
  }

  /** A fresh local (names are unique per function: a repeated name gets a new slot). */
  local(name: string, type: number): string {
    let n = name;
    // The next suffix to try per name: a function with many locals of one name takes each in constant time.
    let k = this.suffix.get(name) ?? 2;
    for (; this.index.has(n); k++) n = `${name}_${k}`;
    this.suffix.set(name, k);
    this.index.set(n, { i: this.nextLocal++, type });
    this.vars.push(type);
    return n;
  }

  get(name: string): X {
    const l = this.index.get(name);
    if (!l) throw new Error(`invariant: no local ${name}`);
    return this.m.local.get(l.i, l.type);
  }

  set(name: string, value: X): X {
    return this.m.local.set(this.index.get(name)!.i, value);
  }

  tee(name: string, value: X): X {
    const l = this.index.get(name)!;
    return this.m.local.tee(l.i, value, l.type);
  }

  add(name: string, body: X, result: number = none): void {
    this.m.addFunction(name, binaryen.createType(this.params.map(([, t]) => t)), result, this.vars, body);
  }

  // ---- i32 helpers ----
  c(v: number): X {
    return this.m.i32.const(v | 0);
  }
  iadd(...xs: X[]): X {
    return xs.reduce((a, b) => this.m.i32.add(a, b));
  }
  imul(a: X, b: X): X {
    return this.m.i32.mul(a, b);
  }

  /** for (v = from; v < to; v += step) body — `to` is re-evaluated each iteration. */
  forLoop(v: string, from: X, cond: X, inc: X, body: X[], label: string): X {
    const m = this.m;
    return m.block(null, [
      this.set(v, from),
      m.block(`${label}_out`, [
        m.loop(`${label}_top`, m.block(null, [
          m.br(`${label}_out`, m.i32.eqz(cond)),
          ...body,
          this.set(v, inc),
          m.br(`${label}_top`),
        ])),
      ]),
    ]);
  }
}

/** f32x4 helpers over a module. */
export class Vec {
  constructor(readonly m: binaryen.Module) {}
  splat(v: number): X {
    const b = new Uint8Array(16);
    const f = new Float32Array(b.buffer);
    f.fill(v);
    return this.m.v128.const(b);
  }
  isplat(v: number): X {
    const b = new Uint8Array(16);
    new Int32Array(b.buffer).fill(v);
    return this.m.v128.const(b);
  }
  add(a: X, b: X): X { return this.m.f32x4.add(a, b); }
  sub(a: X, b: X): X { return this.m.f32x4.sub(a, b); }
  mul(a: X, b: X): X { return this.m.f32x4.mul(a, b); }
  div(a: X, b: X): X { return this.m.f32x4.div(a, b); }
  /** Horner: c[0] + x (c[1] + x (c[2] + ...)), highest degree last. */
  poly(x: () => X, c: readonly number[]): X {
    let acc = this.splat(c[c.length - 1]!);
    for (let i = c.length - 2; i >= 0; i--) acc = this.add(this.mul(acc, x()), this.splat(c[i]!));
    return acc;
  }
  /** mask ? a : b, lane by lane (mask lanes all ones or all zeros). */
  select(mask: X, a: X, b: X): X { return this.m.v128.bitselect(a, b, mask); }
}
