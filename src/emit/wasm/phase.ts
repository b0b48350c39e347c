// One fused elementwise pass in f32x4: per batch row, 4 columns at a time, then single-column tails
// through lane loads and stores (the same expression code, so tails round exactly like the body).

import binaryen from 'binaryen';
import type { MathNode } from 'mathjs';
import { children, type Expr, assertNever } from '../../ir/expr.js';
import type { FnTable } from '../../ir/functions.js';
import { dimKey } from '../../ir/shape.js';
import type { PLoc, PRead, PStore } from '../ts/program.js';
import { FnBuilder, i32, v128, Vec, type X } from './builder.js';
import { mathFunction } from './math.js';

export interface PhaseEnv {
  readonly f: FnBuilder;
  readonly fns: FnTable;
  readonly defined: Set<string>;
  /** i32 value of a dimension, or of a runtime integer, in elements. */
  readonly dim: (d: PLoc['n']) => X;
  readonly buf: (name: string) => X;
  readonly step: () => X;
  readonly stepNext: () => X;
  readonly batch: () => X;
  readonly label: () => string;
}

type Any = MathNode & { name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown; condition?: MathNode; trueExpr?: MathNode; falseExpr?: MathNode };

/** A user activation as a wasm function of one f32x4 (its mathjs body, compiled node by node). */
function customFunction(env: PhaseEnv, name: string): string {
  const { f: { m }, fns, defined } = env;
  const wname = `act_${[...name].map((ch) => ch.charCodeAt(0).toString(16)).join('')}`;
  if (defined.has(wname)) return wname;
  defined.add(wname);
  const c = fns.get(name).custom!;
  const g = new FnBuilder(m, [['x', v128]]);
  const V = new Vec(m);
  const call = (fn: string, a: X): X => {
    if (fns.has(fn) && fns.get(fn).custom) return m.call(customFunction(env, fn), [a], v128);
    return m.call(mathFunction(m, defined, fn), [a], v128);
  };
  const ex = (n: Any): X => {
    switch (n.type) {
      case 'SymbolNode':
        if (n.name === c.param) return g.get('x');
        if (n.name === 'e') return V.splat(Math.E);
        if (n.name === 'pi') return V.splat(Math.PI);
        throw new Error(`unexpected symbol ${n.name} in ${name}`);
      case 'ConstantNode':
        return V.splat(Number(n.value));
      case 'ParenthesisNode':
        return ex(n.content as Any);
      case 'ConditionalNode':
        // c ? a : b lane by lane: the comparison is a mask of all-ones lanes
        return V.select(ex(n.condition as Any), ex(n.trueExpr as Any), ex(n.falseExpr as Any));
      case 'OperatorNode': {
        const args = n.args as Any[];
        const cmp = { '>': m.f32x4.gt, '<': m.f32x4.lt, '>=': m.f32x4.ge, '<=': m.f32x4.le, '==': m.f32x4.eq, '!=': m.f32x4.ne }[n.op as '>'];
        if (cmp && args.length === 2) return cmp(ex(args[0]!), ex(args[1]!));
        if (n.op === 'and' || n.op === 'or') return (n.op === 'and' ? m.v128.and : m.v128.or)(ex(args[0]!), ex(args[1]!));
        if (n.op === 'not') return m.v128.not(ex(args[0]!));
        if (args.length === 1) return n.op === '-' ? m.f32x4.neg(ex(args[0]!)) : ex(args[0]!);
        const op = n.op!.replace(/^\./, '');
        if (op === '^') {
          const p = args[1]!.type === 'ConstantNode' ? Number(args[1]!.value) : NaN;
          if (Number.isInteger(p) && Math.abs(p) <= 16) {
            const t = g.local('pw', v128);
            let acc: X = V.splat(1);
            const base = (): X => g.get(t);
            for (let k = 0; k < Math.abs(p); k++) acc = k === 0 ? base() : V.mul(acc, base());
            const pos = m.block(null, [g.set(t, ex(args[0]!)), acc], v128);
            return p < 0 ? V.div(V.splat(1), pos) : pos;
          }
          // a^b = e^{b log a} (a > 0), as Math.pow for the real-valued cases the f64 kernels accept
          return call('exp', V.mul(ex(args[1]!), call('log', ex(args[0]!))));
        }
        const a = ex(args[0]!), b = ex(args[1]!);
        if (op === '+') return V.add(a, b);
        if (op === '-') return V.sub(a, b);
        if (op === '*') return V.mul(a, b);
        if (op === '/') return V.div(a, b);
        throw new Error(`operator ${op} in ${name}`);
      }
      case 'FunctionNode': {
        const fn = n.fn!.name!;
        const args = (n.args as Any[]).map(ex);
        // Math.min/max semantics (NaN propagates), as the TS kernels
        if (fn === 'min' || fn === 'max') return args.reduce((a, b) => (fn === 'min' ? m.f32x4.min(a, b) : m.f32x4.max(a, b)));
        if (fn === 'clip') return m.f32x4.min(m.f32x4.max(args[0]!, args[1]!), args[2]!);
        return call(fn, args[0]!);
      }
      default:
        throw new Error(`unexpected ${n.type} in ${name}`);
    }
  };
  g.add(wname, ex(c.body as Any), v128);
  return wname;
}

/** rowsum(addr, n): Σ of n floats from addr, accumulated in float64 (the sum of sum() and mean()). */
function rowSumFunction(env: PhaseEnv): string {
  const { f: { m }, defined } = env;
  const name = 'rowsum';
  if (defined.has(name)) return name;
  defined.add(name);
  const g = new FnBuilder(m, [['addr', i32], ['n', i32]]);
  const k = g.local('k', i32), acc = g.local('acc', binaryen.f64);
  const load = m.f64.promote(m.f32.load(0, 4, g.iadd(g.get('addr'), m.i32.shl(g.get(k), g.c(2)))));
  g.add(name, m.block(null, [
    g.set(acc, m.f64.const(0)),
    g.forLoop(k, g.c(0), m.i32.lt_s(g.get(k), g.get('n')), g.iadd(g.get(k), g.c(1)), [g.set(acc, m.f64.add(g.get(acc), load))], 'rows'),
    m.f32.demote(g.get(acc)),
  ], binaryen.f32), binaryen.f32);
  return name;
}

/** The code of one fused pass: `nodes` (already in order) and `stores`, over every batch row. */
export function phaseCode(env: PhaseEnv, nodes: readonly Expr[], stores: readonly PStore[], read: (e: Expr) => PRead | undefined): X {
  const { f } = env;
  const m = f.m;
  const V = new Vec(m);
  const lengths = new Map<string, PLoc['n']>();
  for (const e of nodes) lengths.set(dimKey(e.shape[0]!), e.shape[0]!);
  for (const s of stores) lengths.set(dimKey(s.value.shape[0] ?? s.loc.n), s.value.shape[0] ?? s.loc.n);
  const out: X[] = [];
  for (const [key, len] of lengths) {
    // a slice is read at an offset in its operand (through `read`), never computed
    const mine = nodes.filter((e) => dimKey(e.shape[0]!) === key && e.kind !== 'slice');
    const myStores = stores.filter((s) => dimKey(s.value.shape[0] ?? s.loc.n) === key);
    const row = f.local('row', i32), col = f.local('col', i32), n = f.local('n', i32);
    const bases = new Map<string, { local: string; init: X }>();
    const base = (loc: PLoc): string => {
      const k = `${loc.buf}|${loc.layout}|${dimKey(loc.n)}|${loc.off ? dimKey(loc.off) : ''}`;
      const hit = bases.get(k);
      if (hit) return hit.local;
      const rowIdx = loc.layout === 'seq' ? f.iadd(f.imul(env.step(), env.batch()), f.get(row)) : loc.layout === 'seqNext' ? f.iadd(f.imul(env.stepNext(), env.batch()), f.get(row)) : loc.layout === 'row' ? f.get(row) : undefined;
      let el: X = loc.off ? env.dim(loc.off) : f.c(0);
      if (rowIdx !== undefined) el = f.iadd(f.imul(rowIdx, env.dim(loc.n)), el);
      const local = f.local(`base_${bases.size}`, i32);
      bases.set(k, { local, init: f.set(local, f.iadd(env.buf(loc.buf), m.i32.shl(el, f.c(2)))) });
      return local;
    };
    const inLoop = new Set(mine.map((e) => e.id));
    const temps = new Map(mine.map((e) => [e.id, f.local(`t${e.id}`, v128)]));
    const body = (lane: boolean): X[] => {
      const addr = (loc: PLoc): X => f.iadd(f.get(base(loc)), m.i32.shl(f.get(col), f.c(2)));
      const load = (loc: PLoc, scalar: boolean): X => (scalar ? m.v128.load32_splat(0, 4, f.get(base(loc))) : lane ? m.v128.load32_zero(0, 4, addr(loc)) : m.v128.load(0, 4, addr(loc)));
      const fromRead = (r: PRead, e: Expr): X => {
        const scalar = e.shape.length === 0;
        if (r.kind === 'loc') return load(r.loc, scalar);
        return r.locs.map((l) => load(l, scalar)).reduce((a, b) => V.add(a, b));
      };
      const ex = (e: Expr, root = false): X => {
        if (!root && inLoop.has(e.id)) return f.get(temps.get(e.id)!);
        if (e.kind === 'const') return V.splat(e.value);
        const r = root && e.kind !== 'matvec' ? undefined : read(e);
        if (r) return fromRead(r, e);
        switch (e.kind) {
          case 'map': {
            const a = ex(e.a);
            const def = env.fns.has(e.fn) ? env.fns.get(e.fn) : undefined;
            const fn = def?.custom ? customFunction(env, e.fn) : mathFunction(m, env.defined, e.fn);
            return m.call(fn, [a], v128);
          }
          case 'zip': {
            const a = ex(e.a), b = ex(e.b);
            switch (e.op) {
              case 'add': return V.add(a, b);
              case 'sub': return V.sub(a, b);
              case 'mul': return V.mul(a, b);
              case 'div': return V.div(a, b);
              default: return assertNever(e.op, 'zip op');
            }
          }
          case 'leaf':
            throw new Error(`no location for ${e.role} '${e.name}' in a fused pass`);
          case 'matvec':
            throw new Error('a product must be read from its packed output');
          case 'concat':
          case 'slice':
            throw new Error(`the WebAssembly kernels support ${e.kind} only around matrix products`);
          case 'reduce':
          case 'broadcast': {
            // Σ of the operand's row (a float64 sum, as the TS kernels), or its element 0, splat to every lane.
            const r = read(e.a);
            if (!r) throw new Error(`the operand of a ${e.kind} has no location`);
            const n = e.a.shape[0]!;
            const parts = (r.kind === 'loc' ? [r.loc] : r.locs).map((l) =>
              e.kind === 'reduce' ? m.f32x4.splat(m.call(rowSumFunction(env), [f.get(base(l)), env.dim(n)], binaryen.f32)) : m.v128.load32_splat(0, 4, f.get(base(l))));
            const v = parts.reduce((a, b) => V.add(a, b));
            return e.mean ? V.div(v, m.f32x4.splat(m.f32.convert_s.i32(env.dim(e.kind === 'reduce' ? n : e.shape[0]!)))) : v;
          }
          default:
            return assertNever(e, 'expression');
        }
      };
      const code: X[] = mine.map((e) => f.set(temps.get(e.id)!, ex(e, true)));
      for (const s of myStores) {
        let v = inLoop.has(s.value.id) ? f.get(temps.get(s.value.id)!) : ex(s.value);
        if (s.loc.layout === 'scalar') {
          // a scalar parameter's gradient: Σ of the lanes (only lane 0 is a column in a tail) into its one number
          const t = f.local('red', v128);
          code.push(f.set(t, v));
          let sum: X = m.f32x4.extract_lane(f.get(t), 0);
          if (!lane) for (let k = 1; k < 4; k++) sum = m.f32.add(sum, m.f32x4.extract_lane(f.get(t), k));
          code.push(m.f32.store(0, 4, f.get(base(s.loc)), m.f32.add(m.f32.load(0, 4, f.get(base(s.loc))), sum)));
          continue;
        }
        if (s.op === '+=') v = V.add(lane ? m.v128.load32_zero(0, 4, addr(s.loc)) : m.v128.load(0, 4, addr(s.loc)), v);
        code.push(lane ? m.v128.store32_lane(0, 4, 0, addr(s.loc), v) : m.v128.store(0, 4, addr(s.loc), v));
      }
      void children;
      return code;
    };
    const vec = body(false);
    const tail = body(true);
    const inits = [...bases.values()].map((b) => b.init);
    const lr = env.label(), lv = env.label(), lt = env.label();
    out.push(f.set(n, env.dim(len)), f.forLoop(row, f.c(0), m.i32.lt_s(f.get(row), env.batch()), f.iadd(f.get(row), f.c(1)), [
      ...inits,
      f.forLoop(col, f.c(0), m.i32.le_s(f.iadd(f.get(col), f.c(4)), f.get(n)), f.iadd(f.get(col), f.c(4)), vec, lv),
      m.block(`${lt}_out`, [m.loop(`${lt}_top`, m.block(null, [
        m.br(`${lt}_out`, m.i32.ge_s(f.get(col), f.get(n))),
        ...tail,
        f.set(col, f.iadd(f.get(col), f.c(1))),
        m.br(`${lt}_top`),
      ]))]),
    ], lr));
  }
  return m.block(null, out);
}
