// Scalar expressions of user activations: validation, symbolic derivative (mathjs), JS evaluation.

import { derivative, type MathNode, parse, simplify } from 'mathjs';
import { Diagnostic } from '../spec/diagnostic.js';
import { spanOf } from '../spec/source-expr.js';
import type { SourceExpr } from '../spec/types.js';

/** Functions allowed inside an activation body, and how mathjs should see them for differentiation. */
export const SCALAR_FUNCTIONS: Readonly<Record<string, string | null>> = {
  exp: null, log: null, sqrt: null, abs: null, sin: null, cos: null, tanh: null,
  sigmoid: '1 / (1 + exp(-(ARG)))',
  softplus: 'log(1 + exp(ARG))',
};

type Any = MathNode & { name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown; implicit?: boolean };

/** Checks an activation body: one variable, known functions, scalar arithmetic only. */
export function validateScalar(e: SourceExpr, param: string, what: string): void {
  const walk = (n: Any): void => {
    switch (n.type) {
      case 'SymbolNode':
        if (n.name !== param) throw new Diagnostic(`unknown symbol '${n.name}' in ${what}`, spanOf(e, n), `an activation is a function of '${param}' alone`);
        return;
      case 'ConstantNode':
        if (typeof n.value !== 'number' || !Number.isFinite(n.value)) throw new Diagnostic(`only finite numbers may appear as constants in ${what}`, spanOf(e, n));
        return;
      case 'ParenthesisNode':
        return walk(n.content as Any);
      case 'OperatorNode':
        if (n.implicit) throw new Diagnostic(`implicit multiplication in ${what}`, spanOf(e, n), 'write the operator explicitly, e.g. 2 * x');
        if (!['+', '-', '*', '/', '^', '.*', './', '.^'].includes(n.op!)) throw new Diagnostic(`operator '${n.op}' is not supported in ${what}`, spanOf(e, n));
        for (const a of n.args!) walk(a as Any);
        return;
      case 'FunctionNode': {
        const f = n.fn?.name ?? '';
        if (!(f in SCALAR_FUNCTIONS))
          throw new Diagnostic(`function '${f}' is not supported in ${what}`, spanOf(e, n), `use ${Object.keys(SCALAR_FUNCTIONS).join(', ')}`);
        if (n.args!.length !== 1) throw new Diagnostic(`'${f}' takes one argument`, spanOf(e, n));
        walk(n.args![0] as Any);
        return;
      }
      default:
        throw new Diagnostic(`${n.type.replace(/Node$/, '').toLowerCase()} expressions are not supported in ${what}`, spanOf(e, n));
    }
  };
  walk(e.node as Any);
}

/** Rewrites functions mathjs cannot differentiate into ones it can. */
function expand(n: MathNode): MathNode {
  return n.transform((m: MathNode) => {
    const a = m as Any;
    if (a.type === 'FunctionNode') {
      const tpl = SCALAR_FUNCTIONS[a.fn?.name ?? ''];
      if (tpl) return parse(tpl.replace('ARG', expand(a.args![0]!).toString()));
    }
    if (a.type === 'OperatorNode' && (a.op === '.*' || a.op === './' || a.op === '.^')) {
      const op = a.op.slice(1);
      return parse(`(${expand(a.args![0]!).toString()}) ${op} (${expand(a.args![1]!).toString()})`);
    }
    return m;
  });
}

/** d body / d param, from mathjs, then simplified. */
export function scalarDerivative(e: SourceExpr, param: string, what: string): MathNode {
  try {
    return simplify(derivative(expand(e.node), param));
  } catch (err) {
    throw new Diagnostic(`${what} is not differentiable: ${err instanceof Error ? err.message : String(err)}`, spanOf(e, e.node), 'use differentiable functions only');
  }
}

const JS_FUNCTIONS: Readonly<Record<string, string>> = {
  exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt', abs: 'Math.abs', sin: 'Math.sin', cos: 'Math.cos', tanh: 'Math.tanh',
  sign: 'Math.sign', cosh: 'Math.cosh', sinh: 'Math.sinh',
};

/**
 * Prints a scalar mathjs expression with `fnName(arg)` calls mapped through `call`.
 * Used by the JS/TS and WGSL printers, which differ only in function names and power syntax.
 */
export function printScalar(n: MathNode, param: string, argText: string, opts: { call: (fn: string, arg: string) => string; pow: (a: string, b: string) => string; num: (v: number) => string }): string {
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
      case 'OperatorNode': {
        const args = a.args!.map(p);
        if (args.length === 1) return a.op === '-' ? `(-${args[0]})` : args[0]!;
        const op = a.op!.replace(/^\./, '');
        if (op === '^') return opts.pow(args[0]!, args[1]!);
        return `(${args[0]} ${op} ${args[1]})`;
      }
      case 'FunctionNode':
        return opts.call(a.fn!.name!, p(a.args![0]!));
      default:
        throw new Error(`unexpected ${a.type}`);
    }
  };
  return p(n);
}

export const jsNumber = (v: number): string => (Number.isInteger(v) ? `${v}` : `${v}`);

export function scalarToJs(n: MathNode, param: string, argText: string): string {
  return printScalar(n, param, argText, {
    call: (fn, arg) => {
      // mathjs writes tanh' as sech(x)^2; sech and friends are spelled out for JavaScript.
      if (fn === 'sigmoid') return `(1 / (1 + Math.exp(-${arg})))`;
      if (fn === 'softplus') return `Math.log1p(Math.exp(${arg}))`;
      if (fn === 'sech') return `(1 / Math.cosh(${arg}))`;
      if (fn === 'csch') return `(1 / Math.sinh(${arg}))`;
      if (fn === 'sec') return `(1 / Math.cos(${arg}))`;
      const js = JS_FUNCTIONS[fn];
      if (!js) throw new Error(`no JavaScript for the function '${fn}' in a derivative`);
      return `${js}(${arg})`;
    },
    pow: (a, b) => `Math.pow(${a}, ${b})`,
    num: jsNumber,
  });
}

/** A float64 JS function for a scalar expression. */
export function compileScalar(n: MathNode, param: string): (x: number) => number {
  // The body is built only from validated nodes: numbers, the parameter and whitelisted functions.
  return new Function('x', `return ${scalarToJs(n, param, 'x')};`) as (x: number) => number;
}
