// Splits one step's expression graph into dispatch phases: which nodes get names, where they live, when they run.

import { InvariantError } from '../../spec/diagnostic.js';
import { add, children, type Expr } from '../../ir/expr.js';
import { type Dim, dimKey } from '../../ir/shape.js';
import { specIdent } from '../names.js';

/**
 * When a value is computed. `pre`: before the time loop, for all steps at once (it does not depend on the
 * recurrence); `loop`: inside the loop, step by step; `post`: after the loop, for all steps at once (the
 * recurrence does not need it).
 */
export type Scope = 'pre' | 'loop' | 'post';
export const SCOPES: readonly Scope[] = ['pre', 'loop', 'post'];
const rank = (s: Scope): number => SCOPES.indexOf(s);

/** Where a result leaves the step: a new state, a state adjoint added into δs_{t-1}, or an input adjoint. */
export interface SinkSpec {
  readonly kind: 'state' | 'dstate' | 'dx';
  readonly name: string;
  readonly dim: Dim;
  readonly expr: Expr;
  /** True when the next step reads it (states forward, state adjoints backward). */
  readonly recurrent: boolean;
  /** An input adjoint's product term, written by its GEMM straight into the adjoint (see splitInputAdjoints). */
  readonly direct?: boolean;
}

export interface ScheduleInput {
  readonly sinks: readonly SinkSpec[];
  /** Nodes that must be stored per step (saved for the backward, operands of gradient reductions). */
  readonly forced: readonly Expr[];
  /** Nodes read straight from a buffer: leaves, and forward values stored by the forward. */
  readonly available: (e: Expr) => boolean;
  /** Available nodes that carry the recurrence: s_{t-1} forward, δs_t backward. */
  readonly recurrent: (e: Expr) => boolean;
  /** A preferred name (an equation or adjoint name) for a node. */
  readonly nameOf: (e: Expr) => string | undefined;
  /** A short name for an available node, used to name matrix-vector products. */
  readonly leafName: (e: Expr) => string;
  /** Names the kernels already use. */
  readonly reserved: Iterable<string>;
}

/** A use of a bound value; `cross` when it is read at another element than the one being computed. */
export interface Ref {
  readonly node: Expr;
  readonly cross: boolean;
}

export interface BoundValue {
  readonly node: Expr;
  readonly name: string;
  readonly scope: Scope;
  readonly phase: number;
  /** Written to the per-step work buffer because another phase, element or kernel reads it. */
  readonly stored: boolean;
  readonly refs: readonly Ref[];
  /** A product written by its GEMM straight into an input adjoint, assigning it or adding to it. */
  readonly into?: { readonly sink: string; readonly accumulate: boolean };
}

export interface Sink extends SinkSpec {
  readonly scope: Scope;
  readonly phase: number;
  readonly refs: readonly Ref[];
  /** Added into an input adjoint that a product's GEMM assigned first. */
  readonly accumulate?: boolean;
}

/** Everything of one size computed by one invocation per element in a phase. */
export interface PhaseGroup {
  readonly dim: Dim;
  readonly values: readonly BoundValue[];
  readonly sinks: readonly Sink[];
}

/** One dispatch: one invocation per (step, batch row, element). */
export interface Phase {
  readonly scope: Scope;
  readonly index: number;
  readonly groups: readonly PhaseGroup[];
}

export interface Schedule {
  readonly values: ReadonlyMap<number, BoundValue>;
  /** Bound values in dependency order. */
  readonly order: readonly BoundValue[];
  readonly sinks: readonly Sink[];
  readonly phases: readonly Phase[];
  /** Stored values in dependency order: the slots of the per-step work buffer. */
  readonly stored: readonly BoundValue[];
}

/** A product computed for all steps at once, before or after the loop: a GEMM dispatch of its own. */
export const isGemm = (v: { node: Expr; scope: Scope }): boolean => v.scope !== 'loop' && v.node.kind === 'matvec';

/**
 * Index shifts: the operands of concat, slice and products are read at other elements than their result; a
 * reduction reads all of its operand's elements, a broadcast its operand's (one) element.
 */
const shifts = (e: Expr): boolean => e.kind === 'concat' || e.kind === 'slice' || e.kind === 'matvec' || e.kind === 'reduce' || e.kind === 'broadcast';

/**
 * An input adjoint that sums matrix products (dx = W_1ᵀ δ_1 + W_2ᵀ δ_2 + rest) is written by the products' GEMMs
 * straight into the adjoint, and the rest is added elementwise: no per-step buffer slot per product and no pass that
 * sums them. A product or partial sum that anything else reads is left as it is.
 */
function splitInputAdjoints(input: ScheduleInput): SinkSpec[] {
  const uses = new Map<number, number>();
  const seen = new Set<number>();
  const count = (e: Expr): void => void uses.set(e.id, (uses.get(e.id) ?? 0) + 1);
  const visit = (e: Expr): void => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (input.available(e)) return;
    for (const c of children(e)) {
      count(c);
      visit(c);
    }
  };
  for (const r of [...input.sinks.map((s) => s.expr), ...input.forced]) {
    count(r);
    visit(r);
  }
  const forced = new Set(input.forced.map((e) => e.id));
  const alone = (e: Expr): boolean => uses.get(e.id) === 1 && !forced.has(e.id) && !input.available(e);
  return input.sinks.flatMap((s) => {
    if (s.kind !== 'dx' || s.recurrent || !alone(s.expr)) return [s];
    const terms: Expr[] = [];
    const walk = (e: Expr, top: boolean): void => {
      if (e.kind === 'zip' && e.op === 'add' && (top || (alone(e) && input.nameOf(e) === undefined))) {
        walk(e.a, false);
        walk(e.b, false);
      } else terms.push(e);
    };
    walk(s.expr, true);
    const direct = terms.filter((e) => e.kind === 'matvec' && alone(e));
    if (!direct.length) return [s];
    const rest = terms.filter((e) => !direct.includes(e)).reduce<Expr | undefined>((a, e) => (a ? add(a, e) : e), undefined);
    return [...direct.map((e) => ({ ...s, expr: e, direct: true })), ...(rest ? [{ ...s, expr: rest }] : [])];
  });
}

export function schedule(input: ScheduleInput): Schedule {
  const { available } = input;
  const specs = splitInputAdjoints(input);
  const roots = [...specs.map((s) => s.expr), ...input.forced];

  // The step graph, cut at available nodes.
  const order: Expr[] = [];
  const seen = new Set<number>();
  const visit = (e: Expr): void => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (!available(e)) for (const c of children(e)) visit(c);
    order.push(e);
  };
  for (const r of roots) visit(r);

  // Which nodes get a name: products (they are loops), named and shared values, forced values, and
  // anything read at a shifted element (matvec vectors other than concatenations, concat parts, slice operands).
  const uses = new Map<number, number>();
  const shifted = new Set<number>();
  for (const e of order) {
    if (available(e)) continue;
    for (const c of children(e)) uses.set(c.id, (uses.get(c.id) ?? 0) + 1);
    if (e.kind === 'matvec' && e.v.kind !== 'concat') shifted.add(e.v.id);
    if (e.kind === 'concat') for (const p of e.parts) shifted.add(p.id);
    if (e.kind === 'slice' || e.kind === 'reduce' || e.kind === 'broadcast') shifted.add(e.a.id);
  }
  const forced = new Set(input.forced.map((e) => e.id));

  // Dependence on the recurrence.
  const recMemo = new Map<number, boolean>();
  const rec = (e: Expr): boolean => {
    let r = recMemo.get(e.id);
    if (r === undefined) {
      r = available(e) ? input.recurrent(e) : children(e).some(rec);
      recMemo.set(e.id, r);
    }
    return r;
  };

  // Nodes of e's expression tree down to available values and products, counted with repetition (capped).
  const SMALL = 6;
  const treeSize = (e: Expr, budget = SMALL + 1): number => {
    if (available(e) || e.kind === 'const' || e.kind === 'matvec') return 1;
    let n = 1;
    for (const c of children(e)) if ((n += treeSize(c, budget - n)) > budget) break;
    return n;
  };

  // A small value shared only elementwise and independent of the recurrence is recomputed where it is
  // used: cheaper than a dispatch before the loop and a buffer slot per step. A shared concatenation is a
  // gather, read through its helper by every user rather than copied.
  const isBound = (e: Expr): boolean => {
    // A scalar node (a function of scalar parameters) is computed inline wherever it is read.
    if (available(e) || e.kind === 'const' || e.kind === 'leaf' || e.shape.length === 0) return false;
    if (e.kind === 'matvec' || e.kind === 'reduce' || input.nameOf(e) !== undefined || forced.has(e.id) || shifted.has(e.id)) return true;
    if ((uses.get(e.id) ?? 0) < 2 || e.kind === 'concat') return false;
    return rec(e) || treeSize(e) > SMALL;
  };
  const boundNodes = order.filter(isBound);
  const bound = new Set(boundNodes.map((e) => e.id));
  for (const e of order) if (!available(e) && e.kind === 'leaf') throw new InvariantError(`leaf '${e.name}' has no buffer`);

  // Names, in dependency order so a product can be named after its (already named) vector.
  const taken = new Set(input.reserved);
  const names = new Map<number, string>();
  // A spec name (an equation's or the derivation's) prints through specIdent; any other name is generated: it ends
  // in '_' (src/emit/names.ts) and avoids `taken`, which holds the shader's fixed and helper names.
  const fresh = (base: string, fromSpec: boolean): string => {
    let n = fromSpec ? specIdent('wgsl', base) : '';
    if (n === '' || taken.has(n)) {
      const b = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '') || 'v';
      n = `${b}_`;
      for (let k = 2; taken.has(n); k++) n = `${b}${k}_`;
    }
    taken.add(n);
    return n;
  };
  let tmp = 0;
  const label = (e: Expr): string => names.get(e.id) ?? (available(e) ? input.leafName(e) : e.kind === 'concat' ? 'cat' : 'v');
  for (const e of boundNodes) {
    const own = input.nameOf(e);
    let name = own ?? (e.kind === 'matvec' ? `${label(e.m)}${e.transpose ? 'T' : ''}_${label(e.v)}` : undefined);
    if (name === undefined && e.kind === 'concat') name = 'cat';
    if (name === undefined) while (taken.has((name = `tmp${++tmp}_`)));
    names.set(e.id, fresh(name, own !== undefined));
  }

  // References of a definition, walking through inline nodes.
  const refsOf = (e: Expr, isDefinition: boolean): Ref[] => {
    const refs: Ref[] = [];
    const walk = (c: Expr, cross: boolean): void => {
      if (c.kind === 'const' || available(c)) return;
      if (bound.has(c.id)) {
        refs.push({ node: c, cross });
        return;
      }
      for (const k of children(c)) walk(k, cross || shifts(c));
    };
    if (isDefinition) for (const k of children(e)) walk(k, shifts(e));
    else walk(e, false);
    return refs;
  };
  const refs = new Map(boundNodes.map((e) => [e.id, refsOf(e, true)]));

  const sinkRefs = specs.map((s) => refsOf(s.expr, false));
  const needed = new Set<number>();
  const need = (rs: readonly Ref[]): void => {
    for (const r of rs) {
      if (needed.has(r.node.id)) continue;
      needed.add(r.node.id);
      need(refs.get(r.node.id)!);
    }
  };
  specs.forEach((s, i) => s.recurrent && need(sinkRefs[i]!));
  const scopeOf = (e: Expr): Scope => (!rec(e) ? 'pre' : needed.has(e.id) ? 'loop' : 'post');

  // Phases: a value read at its own element can share a phase with its producer; read elsewhere, it cannot.
  // A product outside the loop is a GEMM dispatch of its own, so its readers come a phase later.
  const values = new Map<number, BoundValue>();
  const phaseOf = (scope: Scope, rs: readonly Ref[], what: string): number => {
    let p = 0;
    for (const r of rs) {
      const d = values.get(r.node.id)!;
      if (rank(d.scope) > rank(scope)) throw new InvariantError(`${what} (${scope}) reads '${d.name}' computed later (${d.scope})`);
      if (d.scope === scope) p = Math.max(p, r.cross || isGemm(d) ? d.phase + 1 : d.phase);
    }
    return p;
  };
  const draft: { node: Expr; name: string; scope: Scope; phase: number; refs: Ref[] }[] = [];
  for (const e of boundNodes) {
    const scope = scopeOf(e);
    const rs = refs.get(e.id)!;
    const v = { node: e, name: names.get(e.id)!, scope, phase: phaseOf(scope, rs, names.get(e.id)!), refs: rs, stored: false };
    values.set(e.id, v);
    draft.push(v);
  }
  const placed: Sink[] = specs.map((s, i) => {
    const rs = sinkRefs[i]!;
    const b = values.get(s.expr.id);
    const scope: Scope = b ? b.scope : !rec(s.expr) ? 'pre' : s.recurrent ? 'loop' : 'post';
    return { ...s, scope, phase: b && !isGemm(b) ? b.phase : phaseOf(scope, rs, `${s.kind} ${s.name}`), refs: rs };
  });
  // The writers of an input adjoint in dispatch order (scope, phase, a phase's GEMMs before its elementwise entry):
  // the first assigns, the others add.
  const into = new Map<number, { sink: string; accumulate: boolean }>();
  const writers = new Map<string, { at: number[]; sink: number }[]>();
  placed.forEach((s, i) => {
    if (s.kind !== 'dx') return;
    const d = s.direct ? values.get(s.expr.id) : undefined;
    if (s.direct && !(d && isGemm(d))) throw new InvariantError(`the product term of d${s.name} is not a GEMM`);
    const at = d ? [rank(d.scope), d.phase, 0, draft.findIndex((v) => v.node === d.node)] : [rank(s.scope), s.phase, 1, i];
    writers.set(s.name, [...(writers.get(s.name) ?? []), { at, sink: i }]);
  });
  const before = (a: number[], b: number[]): number => a.reduce((r, x, k) => r || x - b[k]!, 0);
  const accumulate = new Set<number>();
  for (const ws of writers.values()) for (const w of ws.sort((a, b) => before(a.at, b.at)).slice(1)) accumulate.add(w.sink);
  placed.forEach((s, i) => s.direct && into.set(s.expr.id, { sink: s.name, accumulate: accumulate.has(i) }));
  const sinks: Sink[] = placed.filter((s) => !s.direct).map((s) => (accumulate.has(placed.indexOf(s)) ? { ...s, accumulate: true } : s));

  // Storage: whatever is read by another phase or kernel, at another element, or after the step.
  const stored = new Set<number>(input.forced.filter((e) => bound.has(e.id)).map((e) => e.id));
  const reader = (scope: Scope, phase: number, rs: readonly Ref[]): void => {
    for (const r of rs) {
      const d = values.get(r.node.id)!;
      if (r.cross || d.scope !== scope || d.phase !== phase) stored.add(d.node.id);
    }
  };
  for (const v of draft) reader(v.scope, v.phase, v.refs);
  for (const s of sinks) reader(s.scope, s.phase, s.refs);
  const final = draft.map((v) => ({ ...v, stored: stored.has(v.node.id), ...(into.has(v.node.id) ? { into: into.get(v.node.id)! } : {}) }));
  const byId = new Map(final.map((v) => [v.node.id, v as BoundValue]));

  // Group each phase by element count; values keep dependency order inside a group.
  const phases: Phase[] = [];
  for (const scope of SCOPES) {
    const items = [...final.filter((v) => v.scope === scope), ...sinks.filter((s) => s.scope === scope)];
    const count = Math.max(-1, ...items.map((x) => x.phase)) + 1;
    for (let index = 0; index < count; index++) {
      const groups = new Map<string, { dim: Dim; values: BoundValue[]; sinks: Sink[] }>();
      const group = (dim: Dim) => {
        const k = dimKey(dim);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { dim, values: [], sinks: [] }));
        return g;
      };
      for (const v of final) if (v.scope === scope && v.phase === index) group(v.node.shape[0]!).values.push(byId.get(v.node.id)!);
      for (const s of sinks) if (s.scope === scope && s.phase === index) group(s.dim).sinks.push(s);
      if (groups.size) phases.push({ scope, index, groups: [...groups.values()] });
    }
  }
  for (const v of final) if (v.node.shape.length !== 1) throw new InvariantError(`value '${v.name}' is not a vector`);

  return { values: byId, order: final, sinks, phases, stored: final.filter((v) => v.stored) };
}
