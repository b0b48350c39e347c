// Lowers a CellSpec's equations into the tensor IR, checking shapes and names against the spec.

import { type MathNode, parse } from '../spec/mathjs.js';
import { Diagnostic, didYouMean } from '../spec/diagnostic.js';
import { spanOf } from '../spec/source-expr.js';
import type { CellSpec, EquationDecl, SourceExpr } from '../spec/types.js';
import { SCALAR_MACROS } from './scalar-derive.js';
import { add, broadcast, concat, constant, type Expr, isRowScalar, type Leaf, leaf, map, matvec, mul, neg, reduce, slice, sub, topoOrder, depths, zip, type ZipOp } from './expr.js';
import { sliceBounds } from './slice-index.js';
import { BUILTINS, FnTable, USER_FUNCTIONS } from './functions.js';
import { InlinedTerms, MAX_ACTIVATION_TERMS, termCount } from './budget.js';
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
  sign: 'it is piecewise constant', mod: 'it is not smooth',
  heaviside: 'it is piecewise constant', random: 'it is random',
};

type Any = MathNode & { name?: string; op?: string; fn?: { name?: string }; args?: MathNode[]; content?: MathNode; value?: unknown; implicit?: boolean };

/** The matrix node of W' or transpose(W) (through parentheses), else undefined. */
function transposed(n: MathNode): MathNode | undefined {
  const a = n as Any;
  if (a.type === 'ParenthesisNode') return transposed(a.content!);
  if (a.type === 'OperatorNode' && a.op === "'" && a.args!.length === 1) return a.args![0];
  if (a.type === 'FunctionNode' && (a.fn?.name === 'transpose' || a.fn?.name === 'ctranspose') && a.args!.length === 1) return a.args![0];
  return undefined;
}

/** Reductions a user may reach for that are not built in, each with how to write it with sum and mean. */
const UNSUPPORTED_REDUCTIONS: Readonly<Record<string, string>> = {
  var: 'write the variance with mean: mean((v - mean(v)) .^ 2)',
  variance: 'write the variance with mean: mean((v - mean(v)) .^ 2)',
  std: 'write the standard deviation with mean: sqrt(mean((v - mean(v)) .^ 2))',
  norm: 'write the norm with sum: sqrt(sum(v .^ 2))',
  dot: 'write a dot product with sum: sum(a .* b)',
  prod: 'only sum and mean reduce a vector; a product of its elements is exp(sum(log(v))) for v > 0',
};

/** The reductions over a vector: one value per batch row. */
const REDUCTIONS = ['sum', 'mean'];

/** Piecewise functions of two or three vectors, as relu: max(a, b) = b + relu(a - b) takes b's derivative at a tie. */
const PIECEWISE_ARITY: Readonly<Record<string, number>> = { min: 2, max: 2, clip: 3 };

/** a op b, where a per-row scalar (shape [1]) next to a vector is broadcast to the vector's size. */
function zipBroadcast(op: ZipOp, a: Expr, b: Expr): Expr {
  if (a.shape.length === 1 && b.shape.length === 1 && dimKey(a.shape[0]!) !== dimKey(b.shape[0]!)) {
    if (isRowScalar(a)) a = broadcast(a, b.shape[0]!);
    else if (isRowScalar(b)) b = broadcast(b, a.shape[0]!);
  }
  return zip(op, a, b);
}

function maxOf(a: Expr, b: Expr): Expr {
  return add(b, map('relu', sub(a, b)));
}
function minOf(a: Expr, b: Expr): Expr {
  return sub(b, map('relu', sub(b, a)));
}

/** A built-in activation defined by a scalar body (hard_sigmoid, relu6, ...), registered on first use. */
function ensureMacro(fns: FnTable, name: string): void {
  if (fns.has(name)) return;
  const text = SCALAR_MACROS[name]!;
  defineActivation(fns, name, 'x', { text, node: parse(text), offset: 0, ranges: new Map(), file: '<built-in>' }, `built-in activation '${name}'`);
}

function defineActivation(fns: FnTable, name: string, param: string, expr: SourceExpr, what: string): void {
  validateScalar(expr, param, what);
  const body = scalarBody(expr);
  const d = scalarDerivative(expr, param, what);
  const terms = termCount(body) + termCount(d);
  if (terms > MAX_ACTIVATION_TERMS)
    throw new Diagnostic(`${what} has ${terms} terms with its derivative; at most ${MAX_ACTIVATION_TERMS} are supported`, spanOf(expr, expr.node), 'nest smaller activations in the equation instead, as in f(g(x))');
  const gradName = `${name}_grad`;
  fns.add({
    name: gradName,
    eval: compileScalar(d, param),
    helper: true,
    vjp: () => {
      throw new Diagnostic(`second derivative of ${what} is not supported`, spanOf(expr, expr.node));
    },
    custom: { param, body: d, source: d.toString(), terms },
  });
  fns.add({
    name,
    eval: compileScalar(body, param),
    // y = f(a)  ->  da = dy ⊙ f'(a), f' from the rules of scalar-derive.ts
    vjp: (dy, arg) => mul(dy, map(gradName, arg)),
    custom: { param, body, source: expr.text, terms },
  });
}

function customActivations(spec: CellSpec, fns: FnTable): void {
  for (const a of spec.activations) {
    // Redefining a built-in would silently change its derivative wherever it is used (abs' uses sign).
    if (a.name in BUILTINS || a.name in SCALAR_MACROS || ['concat', 'min', 'max', 'clip'].includes(a.name)) throw new Diagnostic(`'${a.name}' is a built-in function and cannot be redefined`, a.span, 'give the activation another name');
    defineActivation(fns, a.name, a.param, a.expr, `activation '${a.name}'`);
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
  const inlined = new InlinedTerms(fns);
  const sizeNames = new Set(spec.sizes.map((z) => z.name));
  /** Slices taken of each equation's value: an equation read only through slices is live when one of them is. */
  const slicedEqs = new Map<string, Expr[]>();

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
      // mathjs's constants, where the spec declares no such name (checked above).
      if (name === 'pi' || name === 'e') return constant(name === 'pi' ? Math.PI : Math.E);
      const known = [...new Set([...env.keys(), ...eqNames])];
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
      if (a.shape.length && b.shape.length && dimKey(a.shape[0]!) !== dimKey(b.shape[0]!) && !isRowScalar(a) && !isRowScalar(b))
        throw new Diagnostic(`shape mismatch ${where}: '${opText}' of ${showShape(a.shape)} and ${showShape(b.shape)}`, at(n), 'both sides of an elementwise operation need the same size');
      return zipBroadcast(op, a, b);
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
            if (n.op === "'") throw new Diagnostic(`a transposed matrix can only multiply a vector ${where}`, at(n), "write W' * v");
            throw new Diagnostic(`operator '${n.op}' is not supported ${where}`, at(n), 'use + - * .* ./ and functions');
          }
          switch (n.op) {
            case '+': return elementwise('add', n, '+');
            case '-': return elementwise('sub', n, '-');
            case '.*': return elementwise('mul', n, '.*');
            case './': return elementwise('div', n, './');
            case '*': {
              // W' * v and transpose(W) * v: the transpose of a parameter matrix (tied weights).
              const tn = transposed(args[0]!);
              const a = lower(tn ?? args[0]!);
              const b = lower(args[1]!);
              if (tn) {
                if (a.shape.length !== 2 || a.kind !== 'leaf' || a.role !== 'param') throw new Diagnostic(`only a parameter matrix can be transposed ${where}`, at(args[0]!), "write W' * v with W a matrix parameter");
                if (b.shape.length !== 1) throw new Diagnostic(`'*' of a matrix needs a vector on its right ${where}`, at(n), 'only matrix-vector products are supported');
                if (dimKey(a.shape[0]!) !== dimKey(b.shape[0]!))
                  throw new Diagnostic(`shape mismatch ${where}: ${a.name}' is [${showDim(a.shape[1]!)}, ${showDim(a.shape[0]!)}] but its vector has ${showDim(b.shape[0]!)} elements`, at(n), `${a.name}' needs a vector of ${showDim(a.shape[0]!)} elements`);
                return matvec(a, b, true);
              }
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
              if (a.shape.length === 1 && b.shape.length === 1) {
                // A per-row scalar (a reduction, or an equation of one) scales a vector.
                if ((isRowScalar(a) && a.kind !== 'leaf') || (isRowScalar(b) && b.kind !== 'leaf')) return zipBroadcast('mul', a, b);
                const one = [a, b].find((v) => dimKey(v.shape[0]!) === '1' && dimKey(a.shape[0]!) !== dimKey(b.shape[0]!));
                if (one) throw new Diagnostic(`a parameter of size 1 is a vector, not a scalar ${where}`, at(n), `a scalar parameter has an empty shape (${one.kind === 'leaf' ? one.name : 'alpha'}: []) and scales a vector with *; or give it the vector's size and use .*`);
                throw new Diagnostic(`'*' between two vectors ${where}`, at(n), "use '.*' for the elementwise product");
              }
              return mul(a, b);
            }
            case '/': {
              const b = vec(lower(args[1]!), args[1]!, 'the divisor');
              if (b.shape.length !== 0 && !isRowScalar(b)) throw new Diagnostic(`'/' by a vector ${where}`, at(n), "use './' for elementwise division");
              return zipBroadcast('div', vec(lower(args[0]!), args[0]!, 'the left operand'), b);
            }
            case '^':
            case '.^': {
              const base = vec(lower(args[0]!), args[0]!, 'the base');
              // The exponent is a number, possibly written as an expression of numbers: v .^ (-1), v .^ (1 / 2).
              const ex = lower(args[1]!);
              const k = ex.kind === 'const' && ex.shape.length === 0 ? ex.value : NaN;
              if (base.kind === 'const' && Number.isFinite(Math.pow(base.value, k))) return constant(Math.pow(base.value, k), base.shape);
              if (Number.isInteger(k) && Math.abs(k) >= 1 && Math.abs(k) <= 8) {
                let p = base;
                for (let j = 1; j < Math.abs(k); j++) p = mul(p, base);
                return k > 0 ? p : zipBroadcast('div', constant(1), p);
              }
              if (k === 0.5) return map('sqrt', base);
              throw new Diagnostic(`only the powers -8 to 8 (but 0) and 0.5 are supported ${where}`, at(n), 'write other powers with exp and log: exp(p * log(v)) for v > 0');
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
          if (f in PIECEWISE_ARITY) {
            if (args.length !== PIECEWISE_ARITY[f]) throw new Diagnostic(`'${f}' takes ${PIECEWISE_ARITY[f]} arguments ${where}`, at(n), f === 'clip' ? 'clip(v, lo, hi)' : `${f}(a, b)`);
            const xs = args.map((a, i) => vec(lower(a), a, `argument ${i + 1} of ${f}`));
            const len = xs.find((x) => x.shape.length === 1)?.shape[0];
            if (!len) throw new Diagnostic(`'${f}' of constants ${where}`, at(n), 'apply it to a vector');
            xs.forEach((x, i) => {
              if (x.shape.length === 1 && dimKey(x.shape[0]!) !== dimKey(len))
                throw new Diagnostic(`shape mismatch ${where}: argument ${i + 1} of '${f}' is ${showShape(x.shape)}, not [${showDim(len)}]`, at(args[i]!), 'the arguments need the same size (or be numbers)');
            });
            if (f === 'max') return maxOf(xs[0]!, xs[1]!);
            if (f === 'min') return minOf(xs[0]!, xs[1]!);
            return minOf(maxOf(xs[0]!, xs[1]!), xs[2]!);
          }
          if (f in SCALAR_MACROS && f !== 'relu') ensureMacro(fns, f);
          if (USER_FUNCTIONS.includes(f) || (fns.has(f) && !fns.get(f).helper)) {
            if (args.length !== 1) throw new Diagnostic(`'${f}' takes one argument ${where}`, at(n));
            const a = vec(lower(args[0]!), args[0]!, `the argument of ${f}`);
            if (a.kind === 'const') {
              // A function of a number is a number (sqrt(2 / pi)).
              const v = fns.get(f).eval(a.value);
              if (!Number.isFinite(v)) throw new Diagnostic(`'${f}' of ${a.value} is not a finite number ${where}`, at(n));
              return constant(v, a.shape);
            }
            return map(f, a);
          }
          if (REDUCTIONS.includes(f)) {
            if (args.length !== 1) throw new Diagnostic(`'${f}' takes one vector ${where}`, at(n), `${f}(v) reduces one vector to one value per batch row`);
            const a = lower(args[0]!);
            if (a.shape.length === 2) throw new Diagnostic(`the argument of '${f}' is a matrix ${where}`, at(args[0]!), `${f} reduces a vector; reduce a product instead, as in ${f}(W * x)`);
            if (a.shape.length === 0) throw new Diagnostic(`the argument of '${f}' is a number ${where}`, at(args[0]!), `${f} reduces a vector to one value per batch row`);
            if (isRowScalar(a)) throw new Diagnostic(`the argument of '${f}' is a scalar ${where}`, at(args[0]!), `the argument is already one value per batch row; ${f} reduces a vector`);
            return reduce(a, f === 'mean');
          }
          if (f === 'transpose' || f === 'ctranspose') throw new Diagnostic(`a transposed matrix can only multiply a vector ${where}`, at(n), "write W' * v");
          if (f in UNSUPPORTED_REDUCTIONS) throw new Diagnostic(`'${f}' is not a built-in reduction ${where}`, at(n), UNSUPPORTED_REDUCTIONS[f]);
          if (f in NON_DIFFERENTIABLE) throw new Diagnostic(`'${f}' is not differentiable ${where}`, at(n), NON_DIFFERENTIABLE[f]);
          const known = [...USER_FUNCTIONS, ...Object.keys(SCALAR_MACROS).filter((m) => m !== 'relu'), 'min', 'max', 'clip', ...REDUCTIONS, ...spec.activations.map((a) => a.name), 'concat'];
          throw new Diagnostic(`unknown function '${f}' ${where}`, at(n), didYouMean(f, known) ?? `known functions: ${known.join(', ')}; declare others under activations:`);
        }
        default:
          if (n.type === 'AccessorNode') {
            // v[lo:hi]: 1-based, both ends included (mathjs), bounds are size expressions
            const obj = (n as unknown as { object: Any }).object;
            const a = lower(obj);
            const what = obj.type === 'SymbolNode' ? `'${obj.name}'` : 'the vector';
            if (a.shape.length === 2) throw new Diagnostic(`slicing a matrix is not supported ${where}`, at(n), `slice its product instead, as in (${obj.type === 'SymbolNode' ? obj.name : 'W'} * x)[1:hidden], or declare one parameter per block`);
            if (a.shape.length === 0) throw new Diagnostic(`${what} is a scalar and cannot be sliced ${where}`, at(n), 'slice vectors: v[lo:hi]');
            const { start, length } = sliceBounds(n, a.shape[0]!, what, sizeNames, at, where);
            const out = slice(a, start, length);
            if (obj.type === 'SymbolNode' && eqNames.includes(obj.name!)) slicedEqs.set(obj.name!, [...(slicedEqs.get(obj.name!) ?? []), out]);
            return out;
          }
          if (n.type === 'IndexNode')
            throw new Diagnostic(`an index without a vector ${where}`, at(n), 'slice a vector: v[lo:hi]');
          throw new Diagnostic(`${n.type.replace(/Node$/, '').toLowerCase()} expressions are not supported ${where}`, at(n), 'equations use + - * .* ./ ^, numbers, names and function calls');
      }
    };

    const expr = lower(se.node as Any);
    const isState = stateNames.has(eq.name);
    if (expr.shape.length !== 1)
      throw new Diagnostic(`the equation for '${eq.name}' evaluates to a ${expr.shape.length === 0 ? (expr.kind === 'const' ? 'constant' : 'scalar') : 'matrix'}`, spanOf(se, se.node),
        expr.shape.length === 0 && expr.kind !== 'const' ? 'an equation must produce a vector: write the scalar where it is used, as in alpha * v' : 'an equation must produce a vector');
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
    inlined.add(expr, `the equation for '${eq.name}'`, eq.span);
    env.set(eq.name, expr);
    equations.push({ name: eq.name, expr, isState, decl: eq });
  }

  // Everything declared must take part in the step: an unused parameter would get a zero gradient.
  const next = new Map(spec.state.map((s) => [s.name, env.get(s.name)!]));
  const live = new Set(topoOrder([...next.values()]).map((e) => e.id));
  for (const p of spec.params) if (!used.has(p.name)) throw new Diagnostic(`parameter '${p.name}' is never used`, p.span, 'remove it or use it in an equation');
  for (const x of spec.inputs) if (!used.has(x.name)) throw new Diagnostic(`input '${x.name}' is never used`, x.span, 'remove it or use it in an equation');
  for (const eq of equations) {
    if (!eq.isState && !live.has(eq.expr.id) && !(slicedEqs.get(eq.name) ?? []).some((x) => live.has(x.id))) throw new Diagnostic(`'${eq.name}' is computed but never used by a state update`, eq.decl.span, 'remove it or use it');
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

