// Scalar expressions of user activations: validation, symbolic derivative (mathjs), JS evaluation.

import type { MathNode } from 'mathjs';
import { Diagnostic } from '../spec/diagnostic.js';
import { spanOf } from '../spec/source-expr.js';
import { canonical, derive as deriveScalar } from './scalar-derive.js';
import type { SourceExpr } from '../spec/types.js';

/** Functions allowed inside an activation body, by arity (macros such as relu6 included). */
export const SCALAR_FUNCTIONS: Readonly<Record<string, number>> = {
  exp: 1, log: 1, sqrt: 1, abs: 1, sin: 1, cos: 1, tanh: 1, sigmoid: 1, softplus: 1, sign: 1,
  relu: 1, hard_sigmoid: 1, hard_tanh: 1, relu6: 1, min: 2, max: 2, clip: 3,
};

const COMPARISONS = ['>', '<', '>=', '<='];

type Any = MathNode & { condition?: MathNode; trueExpr?: MathNode; falseExpr?: MathNode; name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown; implicit?: boolean };

/** Checks an activation body: one variable, known functions, scalar arithmetic only. */
export function validateScalar(e: SourceExpr, param: string, what: string): void {
  const walk = (n: Any): void => {
    switch (n.type) {
      case 'ConditionalNode': {
        const c = n.condition as Any;
        if (c.type !== 'OperatorNode' || !COMPARISONS.includes(c.op!))
          throw new Diagnostic(`the condition of '? :' in ${what} must be a comparison`, spanOf(e, c), `write e.g. x > 0 ? x : exp(x) - 1`);
        for (const a of c.args!) walk(a as Any);
        walk(n.trueExpr as Any);
        walk(n.falseExpr as Any);
        return;
      }
      case 'SymbolNode':
        if (n.name !== param && n.name !== 'pi' && n.name !== 'e')
          throw new Diagnostic(`unknown symbol '${n.name}' in ${what}`, spanOf(e, n), `an activation is a function of '${param}' alone (pi and e are the constants)`);
        return;
      case 'ConstantNode':
        if (typeof n.value !== 'number' || !Number.isFinite(n.value)) throw new Diagnostic(`only finite numbers may appear as constants in ${what}`, spanOf(e, n));
        return;
      case 'ParenthesisNode':
        return walk(n.content as Any);
      case 'OperatorNode':
        if (n.implicit) throw new Diagnostic(`implicit multiplication in ${what}`, spanOf(e, n), 'write the operator explicitly, e.g. 2 * x');
        if (!['+', '-', '*', '/', '^', '.*', './', '.^'].includes(n.op!))
          throw new Diagnostic(`operator '${n.op}' is not supported in ${what}`, spanOf(e, n), COMPARISONS.includes(n.op!) ? 'a comparison may only be the condition of c ? a : b' : 'use + - * / ^ and functions');
        for (const a of n.args!) walk(a as Any);
        return;
      case 'FunctionNode': {
        const f = n.fn?.name ?? '';
        if (!(f in SCALAR_FUNCTIONS))
          throw new Diagnostic(`function '${f}' is not supported in ${what}`, spanOf(e, n), `use ${Object.keys(SCALAR_FUNCTIONS).join(', ')}`);
        const arity = SCALAR_FUNCTIONS[f]!;
        if (n.args!.length !== arity) throw new Diagnostic(`'${f}' takes ${arity === 1 ? 'one argument' : `${arity} arguments`}`, spanOf(e, n));
        for (const a of n.args!) walk(a as Any);
        return;
      }
      default:
        throw new Diagnostic(`${n.type.replace(/Node$/, '').toLowerCase()} expressions are not supported in ${what}`, spanOf(e, n));
    }
  };
  walk(e.node as Any);
}

/** The body in canonical stable form (see scalar-derive.ts): what every target evaluates. */
export function scalarBody(e: SourceExpr): MathNode {
  return canonical(e.node);
}

/** d body / d param, by the rules of scalar-derive.ts, from the canonical body. */
export function scalarDerivative(e: SourceExpr, param: string, what: string): MathNode {
  try {
    return deriveScalar(canonical(e.node), param);
  } catch (err) {
    throw new Diagnostic(`${what} is not differentiable: ${err instanceof Error ? err.message : String(err)}`, spanOf(e, e.node), 'use differentiable functions only');
  }
}

const JS_FUNCTIONS: Readonly<Record<string, string>> = {
  exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt', abs: 'Math.abs', sin: 'Math.sin', cos: 'Math.cos', tanh: 'Math.tanh',
  sign: 'Math.sign', cosh: 'Math.cosh', sinh: 'Math.sinh',
};

/** Functions a canonical body or derivative may call, beyond the built-in elementwise ones. */
export const scalarCalls = (n: MathNode): Set<string> => {
  const out = new Set<string>();
  n.traverse((m) => {
    const a = m as Any;
    if (a.type === 'FunctionNode') out.add(a.fn!.name!);
  });
  return out;
};

/**
 * Prints a scalar mathjs expression with `fn(args)` calls mapped through `call`, `c ? a : b` through
 * `select`. Used by the JS/TS and WGSL printers, which differ in function names, power and select syntax.
 */
export function printScalar(n: MathNode, param: string, argText: string, opts: { call: (fn: string, args: string[]) => string; pow: (a: string, b: string) => string; num: (v: number) => string; select: (c: string, a: string, b: string) => string }): string {
  const p = (m: MathNode): string => {
    const a = m as Any;
    switch (a.type) {
      case 'SymbolNode':
        if (a.name === param) return argText;
        if (a.name === 'e') return opts.num(Math.E);
        if (a.name === 'pi') return opts.num(Math.PI);
        throw new Error(`unexpected symbol ${a.name}`);
      case 'ConstantNode':
        return opts.num(Number(a.value));
      case 'ParenthesisNode':
        return `(${p(a.content!)})`;
      case 'ConditionalNode':
        return opts.select(p(a.condition!), p(a.trueExpr!), p(a.falseExpr!));
      case 'OperatorNode': {
        const args = a.args!.map(p);
        if (args.length === 1) return a.op === '-' ? `(-${args[0]})` : args[0]!;
        const op = a.op!.replace(/^\.(?=[*/^])/, '');
        if (op === '^') return opts.pow(args[0]!, args[1]!);
        return `(${args[0]} ${op} ${args[1]})`;
      }
      case 'FunctionNode':
        return opts.call(a.fn!.name!, a.args!.map(p));
      default:
        throw new Error(`unexpected ${a.type}`);
    }
  };
  return p(n);
}

export const jsNumber = (v: number): string => `${v}`;

/**
 * JavaScript for a scalar expression; sigmoid and softplus are calls of stable helpers, named `helper(fn)` (the TS
 * printer's helpers are `sigmoid_` and `softplus_`, see src/emit/names.ts).
 */
export function scalarToJs(n: MathNode, param: string, argText: string, helper: (fn: string) => string = (fn) => fn): string {
  return printScalar(n, param, argText, {
    call: (fn, args) => {
      if (fn === 'sigmoid' || fn === 'softplus') return `${helper(fn)}(${args[0]})`;
      if (fn === 'min' || fn === 'max') return `Math.${fn}(${args.join(', ')})`;
      if (fn === 'clip') return `Math.min(Math.max(${args[0]}, ${args[1]}), ${args[2]})`;
      const js = JS_FUNCTIONS[fn];
      if (!js) throw new Error(`no JavaScript for the function '${fn}'`);
      return `${js}(${args[0]})`;
    },
    pow: (a, b) => `Math.pow(${a}, ${b})`,
    num: jsNumber,
    select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  });
}

const stableSigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const stableSoftplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** A float64 JS function for a scalar expression. */
export function compileScalar(n: MathNode, param: string): (x: number) => number {
  // The body is built only from validated nodes: numbers, the parameter and whitelisted functions.
  const f = new Function('sigmoid', 'softplus', 'x', `return ${scalarToJs(n, param, 'x')};`) as (s: typeof stableSigmoid, p: typeof stableSoftplus, x: number) => number;
  return (x) => f(stableSigmoid, stableSoftplus, x);
}
