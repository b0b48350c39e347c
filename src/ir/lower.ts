// Lowers a CellSpec's equations into the tensor IR, checking shapes and names against the spec.

import type { MathNode } from 'mathjs';
import { Diagnostic, didYouMean } from '../spec/diagnostic.js';
import { spanOf } from '../spec/source-expr.js';
import type { CellSpec, EquationDecl } from '../spec/types.js';
import { add, concat, constant, div, type Expr, type Leaf, leaf, map, matvec, mul, neg, sub, topoOrder, depths } from './expr.js';
import { FnTable, USER_FUNCTIONS } from './functions.js';
import { compileScalar, scalarBody, scalarDerivative, validateScalar } from './scalar.js';
import { dimKey, showDim, showShape } from './shape.js';

export interface Equation {
  readonly name: string;
  readonly expr: Expr;
  /** True when the equation updates a state (its value is s_t). */
  readonly isState: boolean;
  readonly decl: EquationDecl;
}

/** One step of a cell as an expression graph: s_t = f(x_t, s_{t-1}; θ). */
export interface CellIR {
  readonly spec: CellSpec;
  readonly fns: FnTable;
  readonly inputs: readonly Leaf[];
  readonly prev: readonly Leaf[]; // role 'state': s_{t-1}
  readonly params: readonly Leaf[];
  readonly equations: readonly Equation[];
  /** The new value of each state, in declaration order. */
  readonly next: ReadonlyMap<string, Expr>;
}

/** mathjs functions that exist but have no usable derivative. */
const NON_DIFFERENTIABLE: Readonly<Record<string, string>> = {
  floor: 'it is piecewise constant', ceil: 'it is piecewise constant', round: 'it is piecewise constant', fix: 'it is piecewise constant',
  sign: 'it is piecewise constant', mod: 'it is not smooth', max: "use relu(a) for max(a, 0)", min: "use -relu(-a) for min(a, 0)",
  heaviside: 'it is piecewise constant', random: 'it is random',
};

type Any = MathNode & { name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown; implicit?: boolean };

function customActivations(spec: CellSpec, fns: FnTable): void {
  for (const a of spec.activations) {
    const what = `activation '${a.name}'`;
    validateScalar(a.expr, a.param, what);
    const body = scalarBody(a.expr);
    const d = scalarDerivative(a.expr, a.param, what);
    const gradName = `${a.name}_grad`;
    fns.add({
      name: gradName,
      eval: compileScalar(d, a.param),
      helper: true,
      vjp: () => {
        throw new Diagnostic(`second derivative of ${what} is not supported`, spanOf(a.expr, a.expr.node));
      },
      custom: { param: a.param, body: d, source: d.toString() },
    });
    fns.add({
      name: a.name,
      eval: compileScalar(body, a.param),
      // y = f(a)  ->  da = dy ⊙ f'(a), f' from the rules of scalar-derive.ts
      vjp: (dy, arg) => mul(dy, map(gradName, arg)),
      custom: { param: a.param, body, source: a.expr.text },
    });
  }
}

/** The deepest expression graph a step may have (see the check in lowerCell). */
export const MAX_IR_DEPTH = 600;

export function lowerCell(spec: CellSpec): CellIR {
  const fns = new FnTable();
  customActivations(spec, fns);
  const inputs = spec.inputs.map((d) => leaf('input', d.name, d.shape));
  const prev = spec.state.map((d) => leaf('state', d.name, d.shape));
  const params = spec.params.map((d) => leaf('param', d.name, d.shape));
  const env = new Map<string, Expr>();
  for (const l of inputs) env.set(l.name, l);
  for (const l of params) env.set(l.name, l);
  for (const l of prev) env.set(`${l.name}_prev`, l);
  const eqNames = spec.equations.map((e) => e.name);
  const stateNames = new Set(spec.state.map((s) => s.name));
  const used = new Set<string>();
  const equations: Equation[] = [];
  const depthMemo = new Map<number, number>();

  for (const [idx, eq] of spec.equations.entries()) {
    const se = eq.expr;
    const at = (n: MathNode) => spanOf(se, n);
    const where = `in the equation for '${eq.name}'`;

    const resolve = (n: Any): Expr => {
      const name = n.name!;
      const hit = env.get(name);
      if (hit) {
        used.add(name);
        return hit;
      }
      if (name === eq.name) {
        throw new Diagnostic(stateNames.has(name) ? `'${name}' refers to its own new value ${where}` : `'${name}' is defined in terms of itself`, at(n),
          stateNames.has(name) ? `use '${name}_prev' for the previous step's value` : 'an equation cannot refer to itself');
      }
      const later = eqNames.indexOf(name, idx + 1);
      if (later >= 0) {
        const cycle = findCycle(spec, eq.name, name);
        if (cycle) throw new Diagnostic(`cyclic definition: ${cycle.join(' -> ')}`, at(n), 'equations must form a chain without loops');
        if (stateNames.has(name))
          throw new Diagnostic(`state '${name}' is used before its update ${where}`, at(n), `use '${name}_prev' for the previous value, or move this equation below the one for '${name}'`);
        throw new Diagnostic(`'${name}' is used before it is defined ${where}`, at(n), `equations run in order: move the equation for '${name}' above this one`);
      }
      if (stateNames.has(name)) throw new Diagnostic(`state '${name}' is used before its update ${where}`, at(n), `use '${name}_prev' for the previous value`);
      if (USER_FUNCTIONS.includes(name) || fns.has(name)) throw new Diagnostic(`'${name}' is a function, not a value`, at(n), `call it: ${name}(...)`);
      const known = [...env.keys(), ...eqNames];
      throw new Diagnostic(`unknown symbol '${name}' ${where}`, at(n), didYouMean(name, known) ?? `declare it under inputs, state or parameters (known: ${known.join(', ')})`);
    };

    const vec = (e: Expr, n: MathNode, role: string): Expr => {
      if (e.shape.length === 2) throw new Diagnostic(`${role} is a matrix where a vector is expected ${where}`, at(n), 'a matrix may only appear on the left of *, as in W * x');
      return e;
    };

    const elementwise = (op: 'add' | 'sub' | 'mul' | 'div', n: Any, opText: string): Expr => {
      const [ln, rn] = n.args!;
      const a = vec(lower(ln as Any), ln!, 'the left operand');
      const b = vec(lower(rn as Any), rn!, 'the right operand');
      if (a.shape.length && b.shape.length && dimKey(a.shape[0]!) !== dimKey(b.shape[0]!))
        throw new Diagnostic(`shape mismatch ${where}: '${opText}' of ${showShape(a.shape)} and ${showShape(b.shape)}`, at(n), 'both sides of an elementwise operation need the same size');
      return op === 'add' ? add(a, b) : op === 'sub' ? sub(a, b) : op === 'mul' ? mul(a, b) : div(a, b);
    };

    const lower = (n: Any): Expr => {
      switch (n.type) {
        case 'SymbolNode':
          return resolve(n);
        case 'ConstantNode':
          if (typeof n.value !== 'number' || !Number.isFinite(n.value)) throw new Diagnostic(`only finite numbers may appear as constants ${where}`, at(n));
          return constant(n.value);
        case 'ParenthesisNode':
          return lower(n.content as Any);
        case 'OperatorNode': {
          if (n.implicit) throw new Diagnostic(`implicit multiplication ${where}`, at(n), "write the operator: '*' for a matrix product, '.*' for elementwise");
          const args = n.args as Any[];
          if (args.length === 1) {
            if (n.op === '-') return neg(lower(args[0]!));
            if (n.op === '+') return lower(args[0]!);
            throw new Diagnostic(`operator '${n.op}' is not supported ${where}`, at(n));
          }
          switch (n.op) {
            case '+': return elementwise('add', n, '+');
            case '-': return elementwise('sub', n, '-');
            case '.*': return elementwise('mul', n, '.*');
            case './': return elementwise('div', n, './');
            case '*': {
              const a = lower(args[0]!);
              const b = lower(args[1]!);
              if (a.shape.length === 2) {
                if (b.shape.length !== 1) throw new Diagnostic(`'*' of a matrix needs a vector on its right ${where}`, at(n), 'only matrix-vector products are supported');
                if (a.kind !== 'leaf' || a.role !== 'param') throw new Diagnostic(`the matrix of a product must be a parameter ${where}`, at(args[0]!));
                const cols = a.shape[1]!;
                if (dimKey(cols) !== dimKey(b.shape[0]!)) {
                  const sym = (d: typeof cols) => showDim(d);
                  throw new Diagnostic(`shape mismatch ${where}: ${a.name} is ${showShape(a.shape)} but its vector has ${sym(b.shape[0]!)} elements`, at(n),
                    `${a.name} needs a vector of ${sym(cols)} elements`);
                }
                return matvec(a, b);
              }
              if (b.shape.length === 2)
                throw new Diagnostic(`a matrix on the right of '*' ${where}`, at(args[1]!), a.shape.length === 0 ? 'scale the product instead, as in 2 * (W * x)' : 'write W * x with the matrix on the left');
              if (a.shape.length === 1 && b.shape.length === 1)
                throw new Diagnostic(`'*' between two vectors ${where}`, at(n), "use '.*' for the elementwise product");
              return mul(a, b);
            }
            case '/': {
              const b = lower(args[1]!);
              if (b.shape.length !== 0) throw new Diagnostic(`'/' by a vector ${where}`, at(n), "use './' for elementwise division");
              return div(vec(lower(args[0]!), args[0]!, 'the left operand'), b);
            }
            case '^':
            case '.^': {
              const base = vec(lower(args[0]!), args[0]!, 'the base');
              const ex = args[1]!;
              const k = ex.type === 'ConstantNode' ? Number(ex.value) : NaN;
              if (k === 2) return mul(base, base);
              if (k === 3) return mul(mul(base, base), base);
              if (k === 0.5) return map('sqrt', base);
              throw new Diagnostic(`only the powers 2, 3 and 0.5 are supported ${where}`, at(n), 'write other powers with exp and log');
            }
            default:
              throw new Diagnostic(`operator '${n.op}' is not supported ${where}`, at(n), 'use + - * .* ./ and functions');
          }
        }
        case 'FunctionNode': {
          const f = n.fn?.name ?? '';
          const args = n.args as Any[];
          if (f === 'concat') {
            if (args.length < 2) throw new Diagnostic(`concat needs at least two vectors ${where}`, at(n));
            return concat(args.map((a) => {
              const e = vec(lower(a), a, 'an argument of concat');
              if (e.shape.length === 0) throw new Diagnostic(`an argument of concat is a constant ${where}`, at(a), 'concat joins vectors');
              return e;
            }));
          }
          if (USER_FUNCTIONS.includes(f) || (fns.has(f) && !fns.get(f).helper)) {
            if (args.length !== 1) throw new Diagnostic(`'${f}' takes one argument ${where}`, at(n));
            const a = vec(lower(args[0]!), args[0]!, `the argument of ${f}`);
            if (a.shape.length === 0) throw new Diagnostic(`'${f}' of a constant ${where}`, at(n), 'apply activations to vectors');
            return map(f, a);
          }
          if (f in NON_DIFFERENTIABLE) throw new Diagnostic(`'${f}' is not differentiable ${where}`, at(n), NON_DIFFERENTIABLE[f]);
          const known = [...USER_FUNCTIONS, ...spec.activations.map((a) => a.name), 'concat'];
          throw new Diagnostic(`unknown function '${f}' ${where}`, at(n), didYouMean(f, known) ?? `known functions: ${known.join(', ')}; declare others under activations:`);
        }
        default:
          throw new Diagnostic(`${n.type.replace(/Node$/, '').toLowerCase()} expressions are not supported ${where}`, at(n), 'equations use + - * .* ./ ^, numbers, names and function calls');
      }
    };

    const expr = lower(se.node as Any);
    const isState = stateNames.has(eq.name);
    if (expr.shape.length !== 1) throw new Diagnostic(`the equation for '${eq.name}' evaluates to a ${expr.shape.length === 0 ? 'constant' : 'matrix'}`, spanOf(se, se.node), 'an equation must produce a vector');
    if (isState) {
      const decl = spec.state.find((s) => s.name === eq.name)!;
      if (dimKey(decl.shape[0]!) !== dimKey(expr.shape[0]!))
        throw new Diagnostic(`state '${eq.name}' is declared ${showShape(decl.shape)} but its update is ${showShape(expr.shape)}`, spanOf(se, se.node), 'the update must have the state\'s size');
    }
    if (env.has(eq.name) && !isState) throw new Diagnostic(`'${eq.name}' is defined twice`, eq.span, 'rename one of the equations');
    if (isState && equations.some((e) => e.name === eq.name)) throw new Diagnostic(`state '${eq.name}' is updated twice`, eq.span, 'update each state once');
    // Each equation is shallow enough (src/spec/source-expr.ts), but a chain of equations builds one deep graph, and
    // derivation and printers walk it recursively: bound its depth here, where the user can still act.
    const depth = depths([expr], depthMemo).get(expr.id)!;
    if (depth > MAX_IR_DEPTH)
      throw new Diagnostic(`the equation for '${eq.name}' is ${depth} operations deep, counting the equations it uses; at most ${MAX_IR_DEPTH} are supported`, eq.span, 'shorten the chain of equations, or sum fewer terms per step');
    env.set(eq.name, expr);
    equations.push({ name: eq.name, expr, isState, decl: eq });
  }

  // Everything declared must take part in the step: an unused parameter would get a zero gradient.
  const next = new Map(spec.state.map((s) => [s.name, env.get(s.name)!]));
  const live = new Set(topoOrder([...next.values()]).map((e) => e.id));
  for (const p of spec.params) if (!used.has(p.name)) throw new Diagnostic(`parameter '${p.name}' is never used`, p.span, 'remove it or use it in an equation');
  for (const x of spec.inputs) if (!used.has(x.name)) throw new Diagnostic(`input '${x.name}' is never used`, x.span, 'remove it or use it in an equation');
  for (const eq of equations) {
    if (!eq.isState && !live.has(eq.expr.id)) throw new Diagnostic(`'${eq.name}' is computed but never used by a state update`, eq.decl.span, 'remove it or use it');
  }
  return { spec, fns, inputs, prev, params, equations, next };
}

/** A path eq -> ... -> eq through later equations, if the reference from `from` to `to` closes a loop. */
function findCycle(spec: CellSpec, from: string, to: string): string[] | undefined {
  const deps = new Map<string, string[]>();
  const ident = /[A-Za-z_][A-Za-z0-9_]*/g;
  for (const e of spec.equations) deps.set(e.name, [...new Set(e.expr.text.match(ident) ?? [])].filter((s) => spec.equations.some((q) => q.name === s)));
  const path: string[] = [from, to];
  const seen = new Set<string>();
  const dfs = (n: string): boolean => {
    if (n === from) return true;
    if (seen.has(n)) return false;
    seen.add(n);
    for (const d of deps.get(n) ?? []) {
      path.push(d);
      if (dfs(d)) return true;
      path.pop();
    }
    return false;
  };
  return dfs(to) ? path : undefined;
}

