// WGSL function table: every elementwise function as a helper whose inputs keep exp away from overflow.

import type { FnTable } from '../../ir/functions.js';
import type { MathNode } from 'mathjs';

/** A WGSL helper function: its name in kernels, its definition, and the helpers it calls. */
export interface WgslHelper {
  readonly name: string;
  readonly source: string;
  readonly uses?: readonly string[];
}

// WGSL leaves any overflow or NaN during evaluation undefined, so exp only ever sees a bounded argument:
// sigmoid and tanh are written through e = exp(-|x|) <= 1, and exp itself is clamped at 88 (e^88 < f32 max).
const fn1 = (name: string, body: string, uses?: readonly string[]): WgslHelper => ({
  name,
  source: `fn ${name}(x: f32) -> f32 {\n${body
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n}`,
  uses,
});

/** Built-in elementwise functions by IR name (functions.ts BUILTINS), as data. */
export const WGSL_BUILTINS: Readonly<Record<string, WgslHelper>> = {
  // σ(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) otherwise: both from e = e^-|x|.
  sigmoid: fn1('sigmoid_', 'let e = exp(-min(abs(x), 80.0));\nreturn select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);'),
  // tanh(x) = sign(x) (1 - e) / (1 + e) with e = e^-2|x|; |x| > 20 is ±1 in f32 anyway.
  tanh: fn1('tanh_', 'let e = exp(-2.0 * min(abs(x), 20.0));\nreturn sign(x) * (1.0 - e) / (1.0 + e);'),
  relu: fn1('relu_', 'return max(x, 0.0);'),
  exp: fn1('exp_', 'return exp(min(x, 88.0));'),
  log: fn1('log_', 'return log(x);'),
  // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|)
  softplus: fn1('softplus_', 'return max(x, 0.0) + log(1.0 + exp(-min(abs(x), 80.0)));'),
  sqrt: fn1('sqrt_', 'return sqrt(x);'),
  abs: fn1('abs_', 'return abs(x);'),
  sin: fn1('sin_', 'return sin(x);'),
  cos: fn1('cos_', 'return cos(x);'),
  step: fn1('step_', 'return select(0.0, 1.0, x > 0.0);'),
  sign: fn1('sign_', 'return sign(x);'),
};

/** Functions that may appear in a custom activation or in its mathjs derivative, beyond the built-ins. */
const SCALAR_EXTRAS: Readonly<Record<string, WgslHelper>> = {
  // sech x = 2 e / (1 + e²) with e = e^-|x|
  sech: fn1('sech_', 'let e = exp(-min(abs(x), 80.0));\nreturn 2.0 * e / (1.0 + e * e);'),
  cosh: fn1('cosh_', 'let e = exp(min(abs(x), 88.0));\nreturn 0.5 * (e + 1.0 / e);'),
  sinh: fn1('sinh_', 'let e = exp(min(abs(x), 88.0));\nreturn sign(x) * 0.5 * (e - 1.0 / e);'),
};

/** Integer powers by repeated multiplication: WGSL's pow is undefined for a negative base. */
const POW_HELPERS: Readonly<Record<string, WgslHelper>> = {
  pow2_: { name: 'pow2_', source: 'fn pow2_(x: f32) -> f32 {\n  return x * x;\n}' },
  pow3_: { name: 'pow3_', source: 'fn pow3_(x: f32) -> f32 {\n  return x * x * x;\n}' },
  powi_: {
    name: 'powi_',
    source:
      'fn powi_(x: f32, n: i32) -> f32 {\n  var p = 1.0;\n  for (var k = 0; k < abs(n); k++) {\n    p *= x;\n  }\n  return select(p, 1.0 / p, n < 0);\n}',
  },
};

/** Names of every fixed helper function, claimed before any value is named. */
export const HELPER_NAMES: readonly string[] = [...Object.values(WGSL_BUILTINS), ...Object.values(SCALAR_EXTRAS), ...Object.values(POW_HELPERS)].map((h) => h.name);

/** Largest magnitude of an f32 literal. */
const F32_MAX = 3.4028234663852886e38;

/** A WGSL f32 literal for a finite number (AbstractFloat, concretized to f32 where used). */
export function wgslNumber(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) > F32_MAX) throw new Error(`the constant ${v} has no f32 representation in WGSL`);
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Name of the WGSL helper for a custom activation (or its derivative), clear of the built-in helpers. */
export const customHelperName = (fn: string): string => `act_${fn}_`;

/**
 * The helpers a cell needs, by IR function name: built-ins from the table, custom activations printed
 * from their mathjs bodies. `helperFor(fn)` gives the name to call; `sources()` the definitions in use.
 */
export class WgslFunctions {
  private readonly used = new Map<string, WgslHelper>();

  constructor(private readonly fns: FnTable) {}

  /** The helper to call for IR function `fn`, registering its definition. */
  helperFor(fn: string): string {
    const builtin = WGSL_BUILTINS[fn];
    if (builtin) return this.use(builtin);
    const def = this.fns.get(fn);
    if (!def.custom) throw new Error(`function '${fn}' has no WGSL form`);
    const name = customHelperName(fn);
    if (!this.used.has(name)) {
      const calls = new Set<string>();
      const body = this.scalar(def.custom.body, def.custom.param, fn, calls);
      this.used.set(name, { name, source: `// ${fn}(${def.custom.param}) = ${def.custom.source}\nfn ${name}(x: f32) -> f32 {\n  return ${body};\n}`, uses: [...calls] });
    }
    return name;
  }

  /**
   * A scalar mathjs expression of `param` as WGSL over the helpers, parenthesized by precedence only
   * (a right operand of equal precedence keeps its parentheses, so the evaluation order is the written one).
   */
  private scalar(root: MathNode, param: string, fn: string, calls: Set<string>): string {
    type Node = MathNode & { condition?: MathNode; trueExpr?: MathNode; falseExpr?: MathNode; name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown };
    const prec: Record<string, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };
    const print = (m: MathNode): { text: string; prec: number } => {
      const n = m as Node;
      switch (n.type) {
        case 'SymbolNode':
          if (n.name === param) return { text: 'x', prec: 9 };
          if (n.name === 'e' || n.name === 'pi') return { text: wgslNumber(n.name === 'e' ? Math.E : Math.PI), prec: 9 };
          throw new Error(`symbol '${n.name}' in activation '${fn}' has no WGSL form`);
        case 'ConstantNode':
          return { text: wgslNumber(Number(n.value)), prec: 9 };
        case 'ParenthesisNode':
          return print(n.content!);
        case 'ConditionalNode':
          // select(false value, true value, condition): both sides are evaluated, and every helper is finite.
          return { text: `select(${print(n.falseExpr!).text}, ${print(n.trueExpr!).text}, ${print(n.condition!).text})`, prec: 9 };
        case 'FunctionNode': {
          const f = n.fn?.name ?? '';
          const args = n.args!.map((a) => print(a).text);
          if (f === 'min' || f === 'max') return { text: `${f}(${args.join(', ')})`, prec: 9 };
          if (f === 'clip') return { text: `min(max(${args[0]}, ${args[1]}), ${args[2]})`, prec: 9 };
          const h = WGSL_BUILTINS[f] ?? SCALAR_EXTRAS[f];
          if (!h || n.args!.length !== 1) throw new Error(`function '${f}' in activation '${fn}' has no WGSL form`);
          calls.add(this.use(h));
          return { text: `${h.name}(${args[0]})`, prec: 9 };
        }
        case 'OperatorNode': {
          const op = n.op!.replace(/^\./, '');
          if (n.args!.length === 1) {
            const a = print(n.args![0]!);
            if (op === '+') return a;
            return { text: `-${a.prec < 3 ? `(${a.text})` : a.text}`, prec: 3 };
          }
          const [a, b] = n.args!.map(print) as [{ text: string; prec: number }, { text: string; prec: number }];
          if (op === '^') {
            const k = Number((n.args![1] as Node).type === 'ConstantNode' ? (n.args![1] as Node).value : NaN);
            const helper = k === 2 ? POW_HELPERS.pow2_! : k === 3 ? POW_HELPERS.pow3_! : Number.isInteger(k) && Math.abs(k) <= 64 ? POW_HELPERS.powi_! : undefined;
            if (!helper) return { text: `pow(${a.text}, ${b.text})`, prec: 9 };
            calls.add(this.use(helper));
            return { text: helper === POW_HELPERS.powi_ ? `powi_(${a.text}, ${k})` : `${helper.name}(${a.text})`, prec: 9 };
          }
          if (['>', '<', '>=', '<='].includes(op)) return { text: `${a.text} ${op} ${b.text}`, prec: 0 };
          const p = prec[op];
          if (p === undefined) throw new Error(`operator '${n.op}' in activation '${fn}' has no WGSL form`);
          const left = a.prec < p ? `(${a.text})` : a.text;
          const right = b.prec <= p ? `(${b.text})` : b.text;
          return { text: `${left} ${op} ${right}`, prec: p };
        }
        default:
          throw new Error(`${n.type} in activation '${fn}' has no WGSL form`);
      }
    };
    return print(root).text;
  }

  private use(h: WgslHelper): string {
    this.used.set(h.name, h);
    return h.name;
  }

  /** Definitions of every helper in use, built-ins first, in a stable order. */
  sources(): string[] {
    return [...this.used.values()].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((h) => h.source);
  }
}

const rank = (h: WgslHelper): number => (h.name.startsWith('act_') ? 1 : 0);
