// The printing environment of one shader: where values live, `let`s in scope, concatenation helpers, group loads.

import { InvariantError } from '../../spec/diagnostic.js';
import { children, type Concat, type Expr } from '../../ir/expr.js';
import { addDims, type Dim } from '../../ir/shape.js';
import { sizeOverride } from '../../runtime/webgpu/types.js';
import type { WgslFunctions } from './functions.js';
import { dim, type ModuleNames, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import { type At, type PrintEnv, WgslPrinter } from './printer.js';
import type { BoundValue, Phase, PhaseGroup, Schedule } from './schedule.js';

/** The invocation's own element. */
export const AT: At = { t: 't_', b: 'b_', j: 'i_' };

/** Reads of one shader's buffers: how a leaf or stored value is found at an element. */
export interface Homes {
  /** Available nodes (leaves, forward values in the backward); undefined for computed nodes. */
  available(e: Expr, at: At): string | undefined;
  /** A stored bound value of this shader. */
  stored(v: BoundValue, at: At): string;
  /** False when another write already stores the value (a new state is its own home). */
  writes(v: BoundValue): boolean;
  /** A short name for comments. */
  label(e: Expr): string | undefined;
}

export class KernelEnv implements PrintEnv {
  /** Values bound by `let` in the group being printed. */
  readonly lets = new Set<number>();
  /** Values loaded from buffers into a `let` at the top of the group, by name. */
  readonly loaded = new Map<number, string>();
  private readonly helpers = new Map<number, { name: string; source: string }>();
  readonly printer: WgslPrinter;

  constructor(
    readonly fns: WgslFunctions,
    private readonly sched: Schedule,
    private readonly homes: Homes,
    private readonly params: ParamLayout,
    private readonly names: ModuleNames,
  ) {
    this.printer = new WgslPrinter(this, sizeOverride);
  }

  read(e: Expr, at: At, shifted: boolean): string | undefined {
    if (!shifted && this.loaded.has(e.id)) return this.loaded.get(e.id);
    const v = this.sched.values.get(e.id);
    if (v) {
      if (!shifted && this.lets.has(e.id)) return v.name;
      if (v.stored) return this.homes.stored(v, at);
      throw new InvariantError(`'${v.name}' is read where it is neither in scope nor stored`);
    }
    return this.homes.available(e, at);
  }

  matrix(m: Expr & { kind: 'leaf' }, row: string, col: string): string {
    return this.params.matrix(m.name, row, col);
  }

  // [a; b]_j = a_j for j < |a|, b_{j - |a|} otherwise.
  concat(e: Concat): string {
    const hit = this.helpers.get(e.id);
    if (hit) return hit.name;
    const name = this.names.fresh(`cat${this.helpers.size + 1}`, 'a concatenation helper');
    const entry = { name, source: '' };
    this.helpers.set(e.id, entry);
    const saved = new Set(this.lets);
    const loaded = new Map(this.loaded);
    this.lets.clear();
    this.loaded.clear();
    const lines = [`// ${notation(e, (x) => this.homes.label(x) ?? this.sched.values.get(x.id)?.name)}`, `fn ${name}(t_: u32, b_: u32, j_: u32) -> f32 {`];
    // Offsets are dimensions printed whole: j_ - (size_a_ + size_b_), never j_ - size_a_ + size_b_.
    let off: Dim | undefined;
    e.parts.forEach((p, i) => {
      const o = off === undefined ? '' : dim(off);
      const j = off === undefined ? 'j_' : `j_ - ${/[+-]/.test(o) ? `(${o})` : o}`;
      const value = this.printer.expr(p, { t: 't_', b: 'b_', j }, true);
      const end = off === undefined ? p.shape[0]! : addDims(off, p.shape[0]!);
      if (i < e.parts.length - 1) lines.push(`  if (j_ < ${dim(end)}) {`, `    return ${value};`, '  }');
      else lines.push(`  return ${value};`);
      off = end;
    });
    lines.push('}');
    entry.source = lines.join('\n');
    for (const id of saved) this.lets.add(id);
    for (const [id, n] of loaded) this.loaded.set(id, n);
    return name;
  }

  /**
   * What a group reads at its own element from buffers (leaves, available and stored values of other
   * phases), in order of first use: loaded once into named `let`s so the arithmetic reads like the math.
   */
  loads(g: PhaseGroup, ph: Phase): { node: Expr; name: string }[] {
    const out: { node: Expr; name: string }[] = [];
    const seen = new Set<number>();
    const walk = (c: Expr): void => {
      if (c.kind === 'const' || seen.has(c.id)) return;
      const v = this.sched.values.get(c.id);
      if (v) {
        if (v.scope !== ph.scope || v.phase !== ph.index) out.push({ node: c, name: v.name });
        seen.add(c.id);
        return;
      }
      const label = this.homes.label(c);
      if (this.homes.available(c, AT) !== undefined && label !== undefined) {
        seen.add(c.id);
        out.push({ node: c, name: label });
        return;
      }
      if (c.kind === 'concat' || c.kind === 'slice' || c.kind === 'matvec' || c.kind === 'reduce' || c.kind === 'broadcast') return; // read at other elements
      for (const k of children(c)) walk(k);
    };
    for (const v of g.values) if (v.node.kind === 'map' || v.node.kind === 'zip') for (const k of children(v.node)) walk(k);
    for (const s of g.sinks) walk(s.expr);
    return out;
  }

  helperSources(): string[] {
    return [...this.fns.sources(), ...[...this.helpers.values()].map((h) => h.source)];
  }
}

