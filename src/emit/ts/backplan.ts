// The backward's schedule for the TypeScript kernels: adjoints rewritten into reads of packed products, each node's
// phase (level) in the step, and the buffers of values carried across phases and steps.

import { add, broadcast, children, concat, type Expr, type Leaf, leaf, map, neg, reduce, slice, sub, topoOrder, zip } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { Loc, ModuleCtx } from './context.js';
import { type Group, isRowBarrier, sinkLevels } from './plan.js';
import { nonZeroParts, orderByLength } from './slices.js';

/** The backward step planned over a module context: its phases, buffers and locations. */
export function planBackwardCode(ctx: ModuleCtx) {
  const { N, spec, cell, bw, fp, bp, width, nameOf, groupName, fwdLoc, locsOf } = ctx;
  const forwardIds = new Set(topoOrder([...cell.next.values()]).map((e) => e.id));
  const recomputedIds = new Set(bw.recomputed.map((e) => e.id));
  const groupLeaf = new Map<number, Leaf>();
  const pieceLeaf = new Map<number, { leaf: Leaf; bp: ReturnType<typeof bp.pieces.get> & object }>();
  const afterLoopGroups = new Set<number>();
  const memo = new Map<number, Expr>();
  const rebuild = (e: Expr, kids: Expr[]): Expr => {
    switch (e.kind) {
      case 'map':
        return e.fn === 'neg' ? neg(kids[0]!) : map(e.fn, kids[0]!);
      case 'zip':
        return zip(e.op, kids[0]!, kids[1]!);
      case 'reduce':
        return reduce(kids[0]!, e.mean);
      case 'broadcast':
        return broadcast(kids[0]!, e.shape[0]!, e.mean);
      case 'concat':
        return concat(kids);
      case 'slice':
        return slice(kids[0]!, e.start, e.length);
      default:
        throw new Error(`the TypeScript kernels cannot compute a ${e.kind} in the backward step of ${spec.name}`);
    }
  };
  const rewrite = (e: Expr, isInputRoot = false): Expr => {
    const key = isInputRoot ? -e.id - 1 : e.id;
    const hit = memo.get(key);
    if (hit) return hit;
    let out: Expr;
    const gs = bp.groupSums.get(e.id);
    if (forwardIds.has(e.id) || e.kind === 'leaf' || e.kind === 'const') out = e;
    else if (gs) {
      const rest = gs.rest.reduce<Expr | undefined>((acc, s) => {
        const r = rewrite(s.e);
        return acc === undefined ? (s.sign > 0 ? r : neg(r)) : s.sign > 0 ? add(acc, r) : sub(acc, r);
      }, undefined);
      if (gs.group.kind === 'input' && isInputRoot) {
        afterLoopGroups.add(gs.group.index);
        out = rest ?? leaf('seed', `#none${gs.group.index}`, e.shape);
      } else {
        if (!groupLeaf.has(gs.group.index)) groupLeaf.set(gs.group.index, leaf('seed', `#dv${gs.group.index}`, [gs.group.width]));
        const gl = groupLeaf.get(gs.group.index)!;
        out = rest ? add(rest, gl) : gl;
      }
    } else if (bp.pieces.has(e.id)) {
      const p = bp.pieces.get(e.id)!;
      if (!pieceLeaf.has(e.id)) pieceLeaf.set(e.id, { leaf: leaf('seed', `#dp${e.id}`, e.shape), bp: p });
      out = pieceLeaf.get(e.id)!.leaf;
    } else out = rebuild(e, children(e).map((k) => rewrite(k)));
    memo.set(key, out);
    return out;
  };
  const prevRoots = new Map(cell.prev.map((s) => [s.name, rewrite(bw.prevAdjoint.get(s.name)!)]));
  const inputRootsRw = new Map(cell.inputs.map((x) => [x.name, rewrite(bw.inputAdjoint.get(x.name)!, true)]));
  const scalarParams = new Set(cell.params.filter((p) => p.shape.length === 0).map((p) => p.name));
  // A stacked value (the adjoint of a sliced vector) is stored part by part; zero parts are skipped where the
  // buffer starts at zero or is accumulated into.
  const sumGrads = bw.grads.filter((g) => g.kind === 'sum').flatMap((g) => nonZeroParts(rewrite((g as { g: Expr }).g)).map((q) => ({ param: g.param, value: q.value, off: q.off })));
  const dyStores: { group: Group; outOff: Dim; value: Expr }[] = [];
  for (const g of fp.groups) for (const p of g.pieces) for (const q of nonZeroParts(rewrite(bp.dyOf.get(p.node.id)!), p.outOff)) dyStores.push({ group: g, outOff: q.off, value: q.value });

  // Levels: a packed read is ready one level after the δ's it multiplies.
  const blevel = new Map<number, number>();
  const seedState = new Map(cell.prev.map((s) => [bw.seeds.get(s.name)!.id, s.name]));
  const lvl = (e: Expr): number => {
    const hit = blevel.get(e.id);
    if (hit !== undefined) return hit;
    let l = 0;
    if (e.kind === 'leaf' && e.name.startsWith('#dv')) {
      const g = fp.groups[Number(e.name.slice(3))]!;
      l = 1 + Math.max(0, ...dyStores.filter((d) => d.group === g).map((d) => lvl(d.value)));
    } else if (e.kind === 'leaf' && e.name.startsWith('#dp')) {
      const p = [...pieceLeaf.values()].find((q) => q.leaf === e)!;
      l = 1 + lvl(rewrite(bp.dyOf.get(p.bp.piece.node.id)!));
    } else if (forwardIds.has(e.id) && !recomputedIds.has(e.id)) l = 0;
    else if (isRowBarrier(e)) l = lvl(e.a) + 1;
    else l = Math.max(0, ...children(e).map(lvl));
    blevel.set(e.id, l);
    return l;
  };
  // Scalar nodes (functions of scalar parameters) are printed inline where they are read.
  const available = (e: Expr): boolean => e.kind === 'leaf' || e.kind === 'const' || e.shape.length === 0 || (forwardIds.has(e.id) && !recomputedIds.has(e.id));
  const broots = [...prevRoots.values(), ...inputRootsRw.values(), ...sumGrads.map((s) => s.value), ...dyStores.map((d) => d.value)];
  // The backward computes everything between its roots and the values it can read.
  const bnodes: Expr[] = [];
  const bseen = new Set<number>();
  const visitB = (e: Expr): void => {
    if (bseen.has(e.id) || available(e)) return;
    bseen.add(e.id);
    for (const ch of children(e)) visitB(ch);
    if (e.kind !== 'concat') bnodes.push(e); // a stacked value is only stored, part by part
  };
  for (const r of broots) visitB(r);
  const bmax = Math.max(0, ...broots.map(lvl));
  // Sink nodes toward their uses; a δ that a per-step product reads must be ready the phase before.
  const bcap = new Map<number, number>();
  const capAt = (e: Expr, l: number) => bcap.set(e.id, Math.min(bcap.get(e.id) ?? Infinity, l));
  for (const [k, gl] of groupLeaf) for (const d of dyStores) if (d.group.index === k) capAt(d.value, lvl(gl) - 1);
  for (const [, p] of pieceLeaf) capAt(rewrite(bp.dyOf.get(p.bp.piece.node.id)!), lvl(p.leaf) - 1);
  const sunk = sinkLevels(bnodes, lvl, (e) => bcap.get(e.id) ?? Infinity, bmax);
  for (const [id, l] of sunk) blevel.set(id, l);
  const bphases: Expr[][] = Array.from({ length: bmax + 1 }, () => []);
  for (const e of bnodes) bphases[lvl(e)]!.push(e);
  const bnodeById = new Map(bnodes.map((e) => [e.id, e]));
  for (const [k, ph] of bphases.entries()) bphases[k] = orderByLength(ph);
  const bstoredAcross = new Set<number>();
  for (const e of bnodes) for (const ch of children(e)) if (!available(ch) && (lvl(ch) < lvl(e) || (e.kind === 'slice' && ch.kind !== 'slice'))) bstoredAcross.add(ch.id);
  const bscratch = new Map<number, string>();
  const dIn = new Map(cell.prev.map((s) => [s.name, N.fresh(`d${s.name}In`)]));
  const carry = new Map(cell.prev.map((s) => [s.name, N.fresh(`d${s.name}Carry`)]));
  const carryNext = new Map(cell.prev.map((s) => [s.name, N.fresh(`d${s.name}Next`)]));
  const dyBuf = new Map(fp.groups.map((g) => [g.index, N.fresh(`dy${groupName(g)[0]!.toUpperCase()}${groupName(g).slice(1)}`)]));
  const dvBuf = new Map([...groupLeaf.keys()].map((k) => [k, N.fresh(`d${groupName(fp.groups[k]!)}Sum`)]));
  const dpBuf = new Map([...pieceLeaf.values()].map((p) => [p.leaf.id, N.fresh(`d${p.bp.piece.W.name}Part`)]));
  const gradName = new Map(cell.params.map((p) => [p.name, N.fresh(`d${p.name}`)]));
  const dxName = new Map(cell.inputs.map((x) => [x.name, N.fresh(`d${x.name}`)]));
  const bwLoc = (e: Expr): Loc | undefined => {
    if (e.kind === 'leaf' && e.role === 'seed') {
      if (e.name.startsWith('#dv')) return { arr: dvBuf.get(Number(e.name.slice(3)))!, layout: 'row', width: width(e), n: e.shape[0]! };
      if (e.name.startsWith('#dp')) return { arr: dpBuf.get(e.id)!, layout: 'row', width: width(e), n: e.shape[0]! };
      return { arr: dIn.get(seedState.get(e.id)!)!, layout: 'row', width: width(e), n: e.shape[0]! };
    }
    if (forwardIds.has(e.id) && available(e)) return fwdLoc(e)?.layout === 'row' ? undefined : fwdLoc(e);
    if (bstoredAcross.has(e.id)) {
      if (!bscratch.has(e.id)) bscratch.set(e.id, N.fresh(`${nameOf(e)}Buf`));
      return { arr: bscratch.get(e.id)!, layout: 'row', width: width(e), n: e.shape[0]! };
    }
    return undefined;
  };

  const bwLocs = (e: Expr): Loc[] | undefined => locsOf(e, bwLoc);
  return {
    rewrite, lvl, groupLeaf, pieceLeaf, afterLoopGroups, prevRoots, inputRootsRw, scalarParams, sumGrads, dyStores, bmax, bphases, bnodeById, bscratch,
    bstoredAcross, dIn, carry, carryNext, dyBuf, dvBuf, dpBuf, gradName, dxName, bwLoc, bwLocs,
  };
}

export type BackCtx = ReturnType<typeof planBackwardCode>;
