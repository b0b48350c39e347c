// The TypeScript printer for elementwise expressions inside a kernel loop.

import type { Broadcast, Concat, Const, Expr, Leaf, MapE, MatVec, Reduce, Slice, Zip } from '../../ir/expr.js';
import type { FnTable } from '../../ir/functions.js';
import { scalarCalls, scalarToJs } from '../../ir/scalar.js';
import { tsBlockComment } from '../../text/escape.js';
import { Prec, type Printed, Printer } from '../printer.js';

/** Built-in functions: how each prints in TypeScript, and the helper it needs, if any. */
export const TS_FUNCTIONS: Readonly<Record<string, { call: (a: string) => string; helper?: string }>> = {
  sigmoid: { call: (a) => `sigmoid_(${a})`, helper: 'sigmoid' },
  tanh: { call: (a) => `Math.tanh(${a})` },
  relu: { call: (a) => `(${a} > 0 ? ${a} : 0)` },
  exp: { call: (a) => `Math.exp(${a})` },
  log: { call: (a) => `Math.log(${a})` },
  softplus: { call: (a) => `softplus_(${a})`, helper: 'softplus' },
  sqrt: { call: (a) => `Math.sqrt(${a})` },
  abs: { call: (a) => `Math.abs(${a})` },
  sin: { call: (a) => `Math.sin(${a})` },
  cos: { call: (a) => `Math.cos(${a})` },
  step: { call: (a) => `(${a} > 0 ? 1 : 0)` },
  sign: { call: (a) => `Math.sign(${a})` },
};

export const TS_HELPERS: Readonly<Record<string, string>> = {
  sigmoid: [
    '/** The logistic function, without overflow for large |x|. */',
    'function sigmoid_(x: number): number {',
    '  if (x >= 0) return 1 / (1 + Math.exp(-x));',
    '  const e = Math.exp(x);',
    '  return e / (1 + e);',
    '}',
  ].join('\n'),
  rowSum: [
    '/** Σ a[off .. off + n): the sum over one row of a vector (sum and mean). */',
    'function rowSum_(a: Float32Array | Float64Array, off: number, n: number): number {',
    '  let s = 0;',
    '  for (let i = 0; i < n; i++) s += a[off + i]!;',
    '  return s;',
    '}',
  ].join('\n'),
  softplus: [
    '/** log(1 + e^x), without overflow for large x. */',
    'function softplus_(x: number): number {',
    '  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));',
    '}',
  ].join('\n'),
};

/** Generated helpers with fixed names (every generated identifier ends in '_', see src/emit/names.ts). */
export const FIXED_HELPERS = ['check_', 'checkSizes_', 'checkLengths_', 'own_', 'packRows_', 'unpackRows_', 'packRowsT_', 'unpackRowsT_', 'sigmoid_', 'softplus_',
  'rowSum_', 'gemmNT_', 'gemmNN_', 'gemmTN_', 'gemmNT_f64_', 'gemmNN_f64_', 'gemmTN_f64_'] as const;

/** The helper function of a user activation `fn` (or of its derivative `fn_grad`): a tagged generated name. */
export const customHelperName = (fn: string): string => `act_${fn}_`;

/** TypeScript for a user activation (and its derivative) as a scalar function. */
export function customHelper(fns: FnTable, name: string): string {
  const def = fns.get(name);
  const c = def.custom!;
  const what = name.endsWith('_grad') ? `derivative of ${name.slice(0, -5)}: ${c.source}` : `activation ${name}(x) = ${c.source}`;
  return [`/** The ${tsBlockComment(what)} */`, `function ${customHelperName(name)}(x: number): number {`, `  return ${scalarToJs(c.body, c.param, 'x', (f) => `${f}_`)};`, '}'].join('\n');
}

export function tsNumber(v: number): string {
  if (Object.is(v, -0)) return '0';
  const s = Number.isInteger(v) ? String(v) : String(v);
  return v < 0 ? `(${s})` : s;
}

/**
 * Prints an expression where each node either has a read (a local or an array element), or is
 * printed from its operands. `reads` decides per node; `helpers` collects the functions used.
 */
export class TsPrinter extends Printer {
  constructor(
    private readonly read: (e: Expr) => string | undefined,
    private readonly fns: FnTable,
    readonly helpers: Set<string>,
  ) {
    super(new Map());
  }

  protected override node(e: Expr, root = false): Printed {
    const r = root ? undefined : this.read(e);
    if (r !== undefined) return { text: r, prec: Prec.Atom };
    return super.node(e, true);
  }

  protected leaf(e: Leaf): Printed {
    throw new Error(`no read for ${e.role} '${e.name}'`);
  }

  protected const(e: Const): Printed {
    return { text: tsNumber(e.value), prec: Prec.Atom };
  }

  protected matvec(_e: MatVec): Printed {
    throw new Error('a product must be read from its packed output');
  }

  protected map(e: MapE): Printed {
    if (e.fn === 'neg') return { text: `-${this.child(e.a, Prec.Unary)}`, prec: Prec.Unary };
    const a = this.node(e.a).text;
    const known = TS_FUNCTIONS[e.fn];
    if (known) {
      if (known.helper) this.helpers.add(known.helper);
      return { text: known.call(a), prec: Prec.Atom };
    }
    const def = this.fns.get(e.fn);
    if (!def.custom) throw new Error(`the TypeScript printer has no function '${e.fn}'`);
    this.helpers.add(e.fn);
    // Stable sigmoid and softplus helpers serve user activations too.
    for (const f of scalarCalls(def.custom.body)) if (TS_HELPERS[f]) this.helpers.add(f);
    return { text: `${customHelperName(e.fn)}(${a})`, prec: Prec.Atom };
  }

  protected zip(e: Zip): Printed {
    const op = { add: '+', sub: '-', mul: '*', div: '/' }[e.op];
    const sum = e.op === 'add' || e.op === 'sub';
    const p = sum ? Prec.Sum : Prec.Product;
    const left = this.child(e.a, p);
    const right = this.child(e.b, e.op === 'add' || e.op === 'mul' ? p : ((p + 1) as Prec));
    return { text: `${left} ${op} ${right}`, prec: p };
  }

  protected concat(_e: Concat): Printed {
    throw new Error('concat is only supported as the vector of a matrix product');
  }

  protected slice(_e: Slice): Printed {
    throw new Error('a slice must be read from a product output');
  }

  protected reduce(_e: Reduce): Printed {
    throw new Error('a reduction must be read from its stored operand');
  }

  protected broadcast(_e: Broadcast): Printed {
    throw new Error('a broadcast must be read from its stored operand');
  }
}
