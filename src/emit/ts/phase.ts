// The loops of one phase of a step: the nodes it computes, grouped by vector length, fused into one pass over
// (row, column) per length, and the values it stores.

import { children, type Expr } from '../../ir/expr.js';
import { type Dim, dimKey } from '../../ir/shape.js';
import { tsLineComment } from '../../text/escape.js';
import type { Loc, ModuleCtx, Store } from './context.js';
import { TsPrinter } from './expr.js';
import { isRowBarrier } from './plan.js';

/** Emits the loops of one phase: nodes computed (grouped by vector length) and values stored. */
export function phaseLoops(ctx: ModuleCtx, nodes: readonly Expr[], stores: readonly Store[], locOf: (e: Expr) => Loc | undefined, special: (e: Expr, base: (loc: Loc) => string) => string | undefined, indent: string,
  products: (e: Expr) => Loc[] | undefined = () => undefined): string[] {
  const { I, N, spec, cell, helpers, dim, width, id, nameOf, fnames, bindingName, equationOf, sliceLocs, locsOf, leafLoc } = ctx;
  const lines: string[] = [];
  const lengths = new Map<string, Dim>();
  for (const e of nodes) lengths.set(dimKey(e.shape[0]!), e.shape[0]!);
  for (const s of stores) lengths.set(dimKey(storeLength(s)), storeLength(s));
  for (const [key, len] of lengths) {
    // A slice is read at an offset in its operand, never computed.
    const mine = nodes.filter((e) => dimKey(e.shape[0]!) === key && e.kind !== 'slice');
    const myStores = stores.filter((s) => dimKey(storeLength(s)) === key);
    const inLoop = new Set(mine.map((e) => e.id));
    const uses = new Map<number, number>();
    for (const e of mine) for (const ch of operandsOf(e)) uses.set(ch.id, (uses.get(ch.id) ?? 0) + 1);
    for (const s of myStores) uses.set(s.value.id, (uses.get(s.value.id) ?? 0) + 2);
    const temps = new Map<number, string>();
    const bases = new Map<string, string>();
    const base = (loc: Loc): string => {
      if (loc.layout === 'param' || loc.layout === 'scalar') return '';
      const expr = loc.layout === 'seq' ? `(${I.step} * ${I.batch} + ${I.row}) * ${loc.width}` : loc.layout === 'seqNext' ? `((${I.step} + 1) * ${I.batch} + ${I.row}) * ${loc.width}` : `${I.row} * ${loc.width}`;
      if (!bases.has(expr)) bases.set(expr, N.fresh(`o${bases.size + 1}`));
      return bases.get(expr)!;
    };
    const at = (loc: Loc): string => (loc.layout === 'scalar' ? `${loc.arr}[0]` : `${loc.arr}[${[base(loc), loc.off, I.col].filter(Boolean).join(' + ')}]`);
    // A reduction sums its operand's row (each packed product output, if it is a product); a broadcast reads element 0.
    const rowRead = (e: Expr & { kind: 'reduce' | 'broadcast' }): string => {
      const a = e.a;
      const locs = a.kind === 'slice' ? sliceLocs(a, (x) => products(x) ?? locsOf(x, locOf)) : products(a) ?? [locOf(a) ?? (a.kind === 'leaf' ? leafLoc(a) : undefined)];
      if (locs.some((l) => l === undefined)) throw new Error(`the operand of a ${e.kind} in ${spec.name} has no location`);
      const start = (l: Loc): string => [base(l), l.off].filter(Boolean).join(' + ') || '0';
      const parts = (locs as Loc[]).map((l) => (e.kind === 'reduce' ? `rowSum_(${l.arr}, ${start(l)}, ${width(a)})` : `${l.arr}[${start(l)}]`));
      if (e.kind === 'reduce') helpers.add('rowSum');
      const v = parts.length > 1 ? `(${parts.join(' + ')})` : parts[0]!;
      return e.mean ? `(${v} / ${dim(e.kind === 'reduce' ? a.shape[0]! : e.shape[0]!)})` : v;
    };
    let printer!: TsPrinter;
    const read = (e: Expr): string | undefined => {
      if (temps.has(e.id)) return temps.get(e.id);
      if (inLoop.has(e.id)) return e.kind === 'matvec' ? special(e, base) : isRowBarrier(e) ? rowRead(e) : undefined;
      if (e.kind === 'const') return undefined;
      if (e.kind === 'slice') {
        const reads = sliceLocs(e, (a) => products(a) ?? locsOf(a, locOf)).map(at);
        return reads.length > 1 ? `(${reads.join(' + ')})` : reads[0]!;
      }
      const sp = special(e, base);
      if (sp !== undefined) return sp;
      const loc = locOf(e);
      if (loc) return at(loc);
      if (e.kind === 'leaf') return at(leafLoc(e));
      return undefined;
    };
    printer = new TsPrinter(read, cell.fns, helpers);
    const body: string[] = [];
    for (const e of mine) {
      const named = fnames.has(e.id) || bindingName.has(e.id);
      // A node used once and unnamed is printed inline where it is used (printing it here too is quadratic in a chain).
      if (!named && (uses.get(e.id) ?? 0) <= 1) {
        if (e.kind === 'matvec') special(e, base);
        else if (isRowBarrier(e)) rowRead(e);
        continue;
      }
      const text = e.kind === 'matvec' ? special(e, base)! : isRowBarrier(e) ? rowRead(e) : printer.print(e);
      // Spec and derivation names are unique and never clash with buffers or loop variables.
      const t = named ? id(nameOf(e)) : N.fresh(nameOf(e));
      const eq = fnames.get(e.id)?.kind === 'equation' ? equationOf.get(e) : undefined;
      body.push(`const ${t} = ${text};${eq ? ` // ${tsLineComment(`${eq.name} = ${eq.decl.expr.text.replace(/\s+/g, ' ').trim()}`)}` : ''}`);
      temps.set(e.id, t);
    }
    for (const s of myStores) {
      const v = temps.get(s.value.id) ?? (inLoop.has(s.value.id) ? printer.print(s.value) : read(s.value) ?? printer.print(s.value));
      body.push(`${at(s.loc)} ${s.op} ${v};`);
    }
    lines.push(`${indent}for (let ${I.row} = 0; ${I.row} < ${I.batch}; ${I.row}++) {`);
    for (const [expr, n] of bases) lines.push(`${indent}  const ${n} = ${expr};`);
    lines.push(`${indent}  for (let ${I.col} = 0; ${I.col} < ${dim(len)}; ${I.col}++) {`);
    for (const b of body) lines.push(`${indent}    ${b}`);
    lines.push(`${indent}  }`, `${indent}}`);
  }
  return lines;
}

const storeLength = (s: Store): Dim => {
  const d = s.value.shape[0];
  if (!d) throw new Error(`store of a scalar into ${s.loc.arr}`);
  return d;
};

// Operands as the kernels see them: sums flattened only for backward group reads (see rewrite).
const operandsOf = (e: Expr): readonly Expr[] => (e.kind === 'matvec' || isRowBarrier(e) ? [] : children(e));
