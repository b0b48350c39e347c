// Derivatives of user activations that stay finite wherever the function is: canonical stable forms
// (sigmoid, softplus, tanh) before differentiation, one derivative rule per scalar function, and a
// light simplifier that never multiplies out into overflowing quotients (mathjs's derivative does).

import { ConditionalNode, ConstantNode, FunctionNode, type MathNode, OperatorNode, parse, SymbolNode } from '../spec/mathjs.js';

type Any = MathNode & { name?: string; op?: string; fn?: { name?: string } | string; args?: MathNode[]; content?: MathNode; value?: unknown; condition?: MathNode; trueExpr?: MathNode; falseExpr?: MathNode };

/**
 * Functions defined by other scalar functions. The piecewise ones expand to clip, whose derivative
 * is taken through min and max (see `derive` for the value chosen at the kinks).
 */
export const SCALAR_MACROS: Readonly<Record<string, string>> = {
  hard_sigmoid: 'clip(0.2 * x + 0.5, 0, 1)', // Keras
  hard_tanh: 'clip(x, -1, 1)',
  relu6: 'clip(x, 0, 6)',
  relu: 'max(x, 0)',
};

// ---- constructors that simplify as they build ----------------------------------------------

const num = (n: MathNode): number | undefined => {
  const a = n as Any;
  if (a.type === 'ConstantNode' && typeof a.value === 'number') return a.value;
  return undefined;
};
const isNum = (n: MathNode, v: number): boolean => num(n) === v;
const same = (a: MathNode, b: MathNode): boolean => a.toString() === b.toString();
const fnName = (n: MathNode): string | undefined => {
  const a = n as Any;
  if (a.type !== 'FunctionNode') return undefined;
  return typeof a.fn === 'string' ? a.fn : a.fn?.name;
};
const opOf = (n: MathNode): string | undefined => ((n as Any).type === 'OperatorNode' ? (n as Any).op : undefined);
const argsOf = (n: MathNode): MathNode[] => (n as Any).args ?? [];

export const K = (v: number): MathNode => (v < 0 ? neg(new ConstantNode(-v)) : new ConstantNode(v === 0 ? 0 : v));
export const call = (name: string, ...args: MathNode[]): MathNode => new FunctionNode(new SymbolNode(name), args);

export function neg(a: MathNode): MathNode {
  const v = num(a);
  if (v !== undefined) return v === 0 ? new ConstantNode(0) : new OperatorNode('-', 'unaryMinus', [new ConstantNode(v)]);
  if (opOf(a) === '-' && argsOf(a).length === 1) return argsOf(a)[0]!;
  return new OperatorNode('-', 'unaryMinus', [a]);
}

/** A negated constant (a unary minus of a number) as a number. */
const value = (n: MathNode): number | undefined => {
  if (opOf(n) === '-' && argsOf(n).length === 1) {
    const v = num(argsOf(n)[0]!);
    return v === undefined ? undefined : -v;
  }
  return num(n);
};
const unneg = (n: MathNode): MathNode | undefined => (opOf(n) === '-' && argsOf(n).length === 1 ? argsOf(n)[0] : undefined);

export function add(a: MathNode, b: MathNode): MathNode {
  const x = value(a), y = value(b);
  if (x !== undefined && y !== undefined) return K(x + y);
  if (x === 0) return b;
  if (y === 0) return a;
  const nb = unneg(b);
  if (nb) return sub(a, nb);
  return new OperatorNode('+', 'add', [a, b]);
}

export function sub(a: MathNode, b: MathNode): MathNode {
  const x = value(a), y = value(b);
  if (x !== undefined && y !== undefined) return K(x - y);
  if (y === 0) return a;
  if (x === 0) return neg(b);
  const nb = unneg(b);
  if (nb) return add(a, nb);
  if (same(a, b)) return K(0);
  return new OperatorNode('-', 'subtract', [a, b]);
}

export function mul(a: MathNode, b: MathNode): MathNode {
  const x = value(a), y = value(b);
  // A symbolic zero is exact: 0 · f is 0 even where f overflows.
  if (x === 0 || y === 0) return K(0);
  if (x !== undefined && y !== undefined) return K(x * y);
  if (x === 1) return b;
  if (y === 1) return a;
  if (x === -1) return neg(b);
  if (y === -1) return neg(a);
  const na = unneg(a), nb = unneg(b);
  if (na) return neg(mul(na, b));
  if (nb) return neg(mul(a, nb));
  // Constants first, so c · (d · u) folds.
  if (y !== undefined) return mul(b, a);
  // e^u · e^v = e^(u+v): one exponential that underflows to 0 instead of 0 · ∞ (Gompertz: e^-e^-x · e^-x).
  const fa = factors(a), fb = factors(b);
  const ia = fa.findIndex((f) => fnName(f) === 'exp'), ib = fb.findIndex((f) => fnName(f) === 'exp');
  if (ia >= 0 && ib >= 0) {
    const rest = [...fa.filter((_, i) => i !== ia), ...fb.filter((_, i) => i !== ib)];
    const e = call('exp', add(argsOf(fa[ia]!)[0]!, argsOf(fb[ib]!)[0]!));
    return rest.reduce((p, f) => mul(p, f), e);
  }
  if (x !== undefined && opOf(b) === '*' && value(argsOf(b)[0]!) !== undefined) return mul(K(x * value(argsOf(b)[0]!)!), argsOf(b)[1]!);
  return new OperatorNode('*', 'multiply', [a, b]);
}

export function div(a: MathNode, b: MathNode): MathNode {
  const x = value(a), y = value(b);
  if (x === 0) return K(0);
  if (x !== undefined && y !== undefined && y !== 0) return K(x / y);
  if (y === 1) return a;
  if (y === -1) return neg(a);
  const na = unneg(a);
  if (na) return neg(div(na, b));
  return new OperatorNode('/', 'divide', [a, b]);
}

export function pow(a: MathNode, k: number): MathNode {
  if (k === 0) return K(1);
  if (k === 1) return a;
  const x = value(a);
  if (x !== undefined) return K(x ** k);
  return new OperatorNode('^', 'pow', [a, K(k)]);
}

const CMP: Readonly<Record<string, string>> = { '>': 'larger', '<': 'smaller', '>=': 'largerEq', '<=': 'smallerEq' };
export const cmp = (op: '>' | '<' | '>=' | '<=', a: MathNode, b: MathNode): MathNode => new OperatorNode(op as '>', CMP[op] as 'larger', [a, b]);

export function cond(c: MathNode, a: MathNode, b: MathNode): MathNode {
  if (same(a, b)) return a;
  return new ConditionalNode(c, a, b);
}

// ---- canonical forms -------------------------------------------------------------------------

/** `1 + exp(v)` or `exp(v) + 1`: v, else undefined. */
function onePlusExp(n: MathNode): MathNode | undefined {
  if (opOf(n) !== '+') return undefined;
  const [a, b] = argsOf(n) as [MathNode, MathNode];
  if (isNum(a, 1) && fnName(b) === 'exp') return argsOf(b)[0];
  if (isNum(b, 1) && fnName(a) === 'exp') return argsOf(a)[0];
  return undefined;
}

/** Factors of a product (through * only). */
function factors(n: MathNode): MathNode[] {
  return opOf(n) === '*' && argsOf(n).length === 2 ? [...factors(argsOf(n)[0]!), ...factors(argsOf(n)[1]!)] : [n];
}

/** Signed terms of a sum. */
function terms(n: MathNode, sign = 1, out: { sign: number; e: MathNode }[] = []): { sign: number; e: MathNode }[] {
  const o = opOf(n);
  if ((o === '+' || o === '-') && argsOf(n).length === 2) {
    terms(argsOf(n)[0]!, sign, out);
    terms(argsOf(n)[1]!, o === '+' ? sign : -sign, out);
  } else if (o === '-' && argsOf(n).length === 1) terms(argsOf(n)[0]!, -sign, out);
  else out.push({ sign, e: n });
  return out;
}

/** t / (1 + e^v) for one term t: t · σ(-v), or u · σ(v) when t = u · e^v (so no e^v is ever evaluated). */
function overOnePlusExp(t: MathNode, v: MathNode): MathNode {
  const fs = factors(t);
  const i = fs.findIndex((f) => fnName(f) === 'exp' && same(argsOf(f)[0]!, v));
  if (i >= 0) return mul(fs.filter((_, j) => j !== i).reduce((p, f) => mul(p, f), K(1)), call('sigmoid', v));
  return mul(t, call('sigmoid', neg(v)));
}

/**
 * Rewrites a scalar body (parentheses removed, .* ./ .^ as * / ^) into forms that stay finite wherever
 * the function is: 1/(1+e^-u) = σ(u), log(1+e^u) = softplus(u), log σ(u) = -softplus(-u), the exp form
 * of tanh, and macros (hard_sigmoid, relu6, ...) expanded.
 */
export function canonical(root: MathNode): MathNode {
  const go = (m: MathNode): MathNode => {
    const n = m as Any;
    switch (n.type) {
      case 'ParenthesisNode':
        return go(n.content!);
      case 'ConditionalNode':
        return cond(go(n.condition!), go(n.trueExpr!), go(n.falseExpr!));
      case 'OperatorNode': {
        const args = n.args!.map(go);
        const op = n.op!.replace(/^\.(?=[*/^])/, '');
        if (args.length === 1) return op === '-' ? neg(args[0]!) : args[0]!;
        const [a, b] = args as [MathNode, MathNode];
        switch (op) {
          case '+': return add(a, b);
          case '-': return sub(a, b);
          case '*': return mul(a, b);
          case '/': {
            const v = onePlusExp(b);
            if (v) return terms(a).reduce<MathNode>((s, t) => (t.sign > 0 ? add(s, overOnePlusExp(t.e, v)) : sub(s, overOnePlusExp(t.e, v))), K(0));
            // (e^u - e^-u) / (e^u + e^-u) = tanh(u)
            const ta = terms(a), tb = terms(b);
            if (ta.length === 2 && tb.length === 2 && [...ta, ...tb].every((t) => fnName(t.e) === 'exp') && tb.every((t) => t.sign > 0)) {
              const u = argsOf(ta[0]!.e)[0]!;
              const pos = (x: MathNode) => same(x, u), negu = (x: MathNode) => same(x, neg(u));
              const [p, q] = [argsOf(ta[0]!.e)[0]!, argsOf(ta[1]!.e)[0]!];
              const [r, s] = [argsOf(tb[0]!.e)[0]!, argsOf(tb[1]!.e)[0]!];
              if (pos(p) && negu(q) && ta[0]!.sign > 0 && ta[1]!.sign < 0 && ((pos(r) && negu(s)) || (negu(r) && pos(s)))) return call('tanh', u);
            }
            return div(a, b);
          }
          case '^': {
            const k = value(b);
            return k === undefined ? new OperatorNode('^', 'pow', [a, b]) : pow(a, k);
          }
          default:
            return new OperatorNode(n.op as '>', n.fn as unknown as 'larger', [a, b]);
        }
      }
      case 'FunctionNode': {
        const f = fnName(n)!;
        const args = n.args!.map(go);
        const macro = SCALAR_MACROS[f];
        if (macro) return go(substitute(parseMacro(macro), args[0]!));
        const u = args[0]!;
        const consts = args.map(value);
        const fold = CONST_FOLD[f];
        if (fold && consts.every((c) => c !== undefined)) return K(fold(...(consts as number[])));
        if (f === 'log') {
          const v = onePlusExp(u);
          if (v) return call('softplus', v); // log(1 + e^v)
          if (fnName(u) === 'sigmoid') return neg(call('softplus', neg(argsOf(u)[0]!))); // log σ(v) = -softplus(-v)
          if (opOf(u) === '-' && argsOf(u).length === 2 && isNum(argsOf(u)[0]!, 1) && fnName(argsOf(u)[1]!) === 'sigmoid')
            return neg(call('softplus', argsOf(argsOf(u)[1]!)[0]!)); // log(1 - σ(v)) = -softplus(v)
          if (fnName(u) === 'exp') return argsOf(u)[0]!;
          // log(e^a + e^b) = a + softplus(b - a)
          const ts = terms(u);
          if (ts.length === 2 && ts.every((t) => t.sign > 0 && fnName(t.e) === 'exp')) {
            const [a, b] = ts.map((t) => argsOf(t.e)[0]!) as [MathNode, MathNode];
            return add(a, call('softplus', sub(b, a)));
          }
        }
        return call(f, ...args);
      }
      case 'SymbolNode':
        return n.name === 'pi' ? K(Math.PI) : n.name === 'e' ? K(Math.E) : m;
      default:
        return m;
    }
  };
  return go(root);
}

/** Functions of constants, folded so sqrt(2 / pi) prints as a number. */
const CONST_FOLD: Readonly<Record<string, (...a: number[]) => number>> = {
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, abs: Math.abs, sin: Math.sin, cos: Math.cos, tanh: Math.tanh, min: Math.min, max: Math.max,
};

const macroCache = new Map<string, MathNode>();
function parseMacro(s: string): MathNode {
  let m = macroCache.get(s);
  if (!m) macroCache.set(s, (m = parse(s)));
  return m;
}
function substitute(body: MathNode, arg: MathNode): MathNode {
  return body.transform((m) => ((m as Any).type === 'SymbolNode' && (m as Any).name === 'x' ? arg : m));
}

// ---- derivative rules ------------------------------------------------------------------------

/**
 * d body / d param of a canonical body. Products and quotients keep their factors (never cleared to a
 * common denominator), so each factor stays within range where the function does.
 *
 * At kinks the derivative takes a fixed one-sided value, as PyTorch does: max(a, b) takes b's derivative
 * at a tie (so relu'(0) = 0), min(a, b) takes b's at a tie, clip(u, lo, hi) = min(max(u, lo), hi) passes
 * u's derivative only strictly inside (lo, hi) (hardtanh, relu6, hard_sigmoid: 0 at the corners), and
 * abs'(0) = sign(0) = 0.
 */
export function derive(root: MathNode, param: string): MathNode {
  const d = (m: MathNode): MathNode => {
    const n = m as Any;
    switch (n.type) {
      case 'ConstantNode':
        return K(0);
      case 'SymbolNode':
        return K(n.name === param ? 1 : 0);
      case 'ParenthesisNode':
        return d(n.content!);
      case 'ConditionalNode':
        return cond(n.condition!, d(n.trueExpr!), d(n.falseExpr!));
      case 'OperatorNode': {
        const args = n.args!;
        if (args.length === 1) return n.op === '-' ? neg(d(args[0]!)) : d(args[0]!);
        const [a, b] = args as [MathNode, MathNode];
        switch (n.op) {
          case '+': return add(d(a), d(b));
          case '-': return sub(d(a), d(b));
          // (a b)' = a' b + a b'
          case '*': return add(mul(d(a), b), mul(a, d(b)));
          // (a / b)' = (a' - (a / b) b') / b: no b², which overflows long before b does
          case '/': {
            const db = d(b);
            return value(db) === 0 ? div(d(a), b) : div(sub(d(a), mul(div(a, b), db)), b);
          }
          // (a^k)' = k a^(k-1) a'
          case '^': {
            const k = value(b);
            if (k === undefined) throw new Error('only constant powers are differentiable; write a^b as exp(b * log(a))');
            return mul(mul(K(k), pow(a, k - 1)), d(a));
          }
          default:
            throw new Error(`operator '${n.op}' is not differentiable`);
        }
      }
      case 'FunctionNode': {
        const f = fnName(n)!;
        const [u, v, w] = n.args! as [MathNode, MathNode | undefined, MathNode | undefined];
        const du = d(u);
        const chain = (g: MathNode): MathNode => mul(g, du);
        switch (f) {
          case 'exp': return chain(call('exp', u)); // e^u
          case 'log': return div(du, u); // u' / u
          case 'sqrt': return div(du, mul(K(2), call('sqrt', u))); // u' / (2 √u)
          case 'abs': return chain(call('sign', u)); // sign(u), 0 at 0
          case 'sin': return chain(call('cos', u));
          case 'cos': return neg(chain(call('sin', u)));
          case 'tanh': return chain(sub(K(1), pow(call('tanh', u), 2))); // 1 - tanh²
          case 'sigmoid': return chain(mul(call('sigmoid', u), call('sigmoid', neg(u)))); // σ(u) σ(-u) = σ(u)(1 - σ(u)), no cancellation
          case 'softplus': return chain(call('sigmoid', u)); // σ(u)
          case 'sign': return K(0);
          case 'max': return cond(cmp('>', u, v!), du, d(v!)); // a tie takes the second argument's derivative
          case 'min': return cond(cmp('<', u, v!), du, d(v!));
          case 'clip': {
            // clip(u, lo, hi) = min(max(u, lo), hi): u' strictly inside, the bound's derivative outside
            const inner = cond(cmp('>', u, v!), du, d(v!));
            return cond(cmp('<', call('max', u, v!), w!), inner, d(w!));
          }
          default:
            throw new Error(`no derivative for the function '${f}'`);
        }
      }
      default:
        throw new Error(`${n.type} is not differentiable`);
    }
  };
  return d(root);
}
