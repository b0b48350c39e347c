// The forward of a TypeScript kernel module: packed input projections of all steps, then per step the packed
// products and the fused elementwise phases of the forward plan; the float32 pass records the schedule as data.

import { type Expr, type Leaf } from '../../ir/expr.js';
import { dimKey } from '../../ir/shape.js';
import { tsString } from '../../text/escape.js';
import type { Loc, ModuleCtx, Store } from './context.js';
import { phaseLoops } from './phase.js';
import { addX, dimX, mulX, numX, type PRead, symX } from './program.js';

/** The body of forward (A = Float32Array, sfx '_') or forward64 (Float64Array, '_f64_'). */
export function forwardCode(ctx: ModuleCtx, A: string, sfx: string): string[] {
  const { I, N, cell, fp, dim, width, id, fnames, stateSeq, groupName, packed, proj, tapeNodes, tapeName, scratch, fwdLoc, leafLoc, pLoc, locsOf, sliceRead, nodeById } = ctx;
  const { fwdBuffers, fwdPre, fwdStep } = ctx.prog;
  const L: string[] = [];
  const rec = sfx === '_'; // the f32 variant (its helpers are gemmNT_ ...) records the program
  const ind = '  ';
  for (const s of cell.prev) L.push(`${ind}const ${stateSeq.get(s.name)} = new ${A}((${I.steps} + 1) * ${I.batch} * ${width(s)});`);
  if (rec) {
    for (const s of cell.prev) fwdBuffers.push({ name: stateSeq.get(s.name)!, len: mulX(addX(symX('@steps'), numX(1)), symX('@batch'), dimX(s.shape[0]!)) });
    for (const e of tapeNodes) fwdBuffers.push({ name: tapeName.get(e.id)!, len: mulX(symX('@steps'), symX('@batch'), dimX(e.shape[0]!)) });
  }
  for (const s of cell.prev) {
    const init = N.fresh(`init_${s.name}`);
    L.push(`${ind}const ${init} = own_(${I.opts}.init, ${tsString(s.name)});`);
    L.push(`${ind}if (${init} !== undefined) ${stateSeq.get(s.name)}.set(check_(${init}, ${I.batch} * ${width(s)}, ${tsString(`init.${s.name}`)}));`);
  }
  for (const e of tapeNodes) L.push(`${ind}const ${tapeName.get(e.id)} = new ${A}(${I.steps} * ${I.batch} * ${width(e)});`);
  for (const [id, nm] of scratch) L.push(`${ind}const ${nm} = new ${A}(${I.batch} * ${width(nodeById.get(id)!)});`);
  for (const g of fp.groups) {
    L.push(`${ind}// ${g.pieces.map((p) => `${p.W.name}${p.colLen === g.width && dimKey(p.colOff) === '0' && dimKey(p.colLen) === dimKey(p.W.shape[1]!) ? '' : `[:, ${dim(p.colOff)}..]`}`).join(', ')} packed: they all multiply ${groupName(g)}`);
    L.push(`${ind}const ${packed.get(g.index)} = new ${A}(${dim(g.cols)} * ${dim(g.width)});`);
    if (rec) fwdBuffers.push({ name: packed.get(g.index)!, len: mulX(dimX(g.cols), dimX(g.width)) });
    if (rec) fwdBuffers.push({ name: proj.get(g.index)!, len: mulX(g.kind === 'input' ? mulX(symX('@steps'), symX('@batch')) : symX('@batch'), dimX(g.cols)) });
    for (const p of g.pieces) {
      if (rec) fwdPre.push({ kind: 'pack', packed: packed.get(g.index)!, rowOff: p.outOff, width: g.width, W: id(p.W.name), rows: p.W.shape[0]!, cols: p.W.shape[1]!, colOff: p.colOff, transpose: !!p.transpose });
      L.push(`${ind}packRows${p.transpose ? 'T' : ''}_(${packed.get(g.index)}, ${dim(p.outOff)}, ${dim(g.width)}, ${id(p.W.name)}, ${dim(p.W.shape[0]!)}, ${dim(p.W.shape[1]!)}, ${dim(p.colOff)});`);
    }
    const rows = g.kind === 'input' ? `${I.steps} * ${I.batch}` : I.batch;
    L.push(`${ind}const ${proj.get(g.index)} = new ${A}(${rows} * ${dim(g.cols)});`);
    if (g.kind === 'input') {
      L.push(`${ind}// input projections of all time steps in one product`);
      L.push(`${ind}gemmNT${sfx}(${I.steps} * ${I.batch}, ${dim(g.cols)}, ${dim(g.width)}, ${id((g.v as Leaf).name)}, 0, ${dim(g.width)}, ${packed.get(g.index)}, 0, ${dim(g.width)}, ${proj.get(g.index)}, 0, ${dim(g.cols)}, false);`);
      if (rec) fwdPre.push({ kind: 'gemm', form: 'NT', M: mulX(symX('@steps'), symX('@batch')), N: dimX(g.cols), K: dimX(g.width), a: { buf: id((g.v as Leaf).name), off: [], ld: dimX(g.width) }, b: { buf: packed.get(g.index)!, off: [], ld: dimX(g.width) }, c: { buf: proj.get(g.index)!, off: [], ld: dimX(g.cols) }, accumulate: false });
    }
  }
  L.push(`${ind}for (let ${I.step} = 0; ${I.step} < ${I.steps}; ${I.step}++) {`);
  const productLocs = (e: Expr): Loc[] | undefined => {
    if (e.kind !== 'matvec') return undefined;
    return fp.groups.flatMap((g) => g.pieces.filter((p) => p.node === e).map((p): Loc => (
      { arr: proj.get(g.index)!, layout: g.kind === 'input' ? 'seq' : 'row', width: dim(g.cols), off: dimKey(p.outOff) === '0' ? undefined : dim(p.outOff), n: g.cols, offD: p.outOff })));
  };
  const special = (e: Expr, base: (loc: Loc) => string): string | undefined => {
    const locs = productLocs(e);
    if (!locs) return undefined;
    const reads = locs.map((loc) => `${loc.arr}[${[base(loc), loc.off, I.col].filter(Boolean).join(' + ')}]`);
    return reads.length > 1 ? `(${reads.join(' + ')})` : reads[0]!;
  };
  const fwdLocs = (e: Expr): Loc[] | undefined => productLocs(e) ?? locsOf(e, fwdLoc);
  const fwdRead = (e: Expr): PRead | undefined => {
    if (e.kind === 'slice') return sliceRead(e, fwdLocs);
    const locs = productLocs(e);
    if (locs) return { kind: 'sum', locs: locs.map(pLoc) };
    if (e.kind === 'const' || e.kind === 'matvec') return undefined;
    const loc = fwdLoc(e) ?? (e.kind === 'leaf' ? leafLoc(e) : undefined);
    return loc && { kind: 'loc', loc: pLoc(loc) };
  };
  fp.phases.forEach((nodes, level) => {
    for (const g of fp.groups) {
      if (g.kind === 'input' || fp.groupLevel.get(g.index) !== level) continue;
      const src = g.kind === 'state' ? stateSeq.get((g.v as Leaf).name)! : g.newState !== undefined ? stateSeq.get(g.newState)! : tapeName.get(g.v.id)!;
      const srcStep = g.newState !== undefined ? `(${I.step} + 1)` : I.step;
      L.push(`${ind}  // ${g.kind === 'state' ? 'recurrent' : g.newState !== undefined ? `new-state (${g.newState}_t)` : 'in-step'} products, packed: [${g.pieces.map((p) => p.W.name).join(', ')}] · ${groupName(g)}`);
      L.push(`${ind}  gemmNT${sfx}(${I.batch}, ${dim(g.cols)}, ${dim(g.width)}, ${src}, ${srcStep} * ${I.batch} * ${dim(g.width)}, ${dim(g.width)}, ${packed.get(g.index)}, 0, ${dim(g.width)}, ${proj.get(g.index)}, 0, ${dim(g.cols)}, false);`);
      const stepX = g.newState !== undefined ? addX(symX('@step'), numX(1)) : symX('@step');
      if (rec) fwdStep.push({ kind: 'gemm', form: 'NT', M: symX('@batch'), N: dimX(g.cols), K: dimX(g.width), a: { buf: src, off: mulX(stepX, symX('@batch'), dimX(g.width)), ld: dimX(g.width) }, b: { buf: packed.get(g.index)!, off: [], ld: dimX(g.width) }, c: { buf: proj.get(g.index)!, off: [], ld: dimX(g.cols) }, accumulate: false });
    }
    const stores: Store[] = [];
    for (const e of nodes) {
      const loc = fwdLoc(e);
      if (loc) stores.push({ value: e, loc, op: '=' });
    }
    // A state whose update is a leaf or constant (rare) still gets written.
    if (level === 0) for (const [s, e] of cell.next) if (e.kind === 'leaf' || e.kind === 'const') stores.push({ value: e, loc: { arr: stateSeq.get(s)!, layout: 'seqNext', width: width(cell.prev.find((p) => p.name === s)!), n: cell.prev.find((p) => p.name === s)!.shape[0]! }, op: '=' });
    if (nodes.length || stores.length) {
      L.push(`${ind}  // ${nodes.filter((e) => fnames.get(e.id)?.kind === 'equation').map((e) => fnames.get(e.id)!.name).join(', ') || 'elementwise'}: one fused pass`);
      L.push(...phaseLoops(ctx, nodes, stores, fwdLoc, special, `${ind}  `, productLocs));
      if (rec) fwdStep.push({ kind: 'phase', nodes, stores: stores.map((st) => ({ value: st.value, loc: pLoc(st.loc), op: st.op })), read: fwdRead });
    }
  });
  if (rec) fwdStep.push({ kind: 'padCarry' });
  L.push(`${ind}  if (${I.lengths} !== undefined) {`);
  L.push(`${ind}    // finished sequences carry their last state through the padded steps`);
  L.push(`${ind}    for (let ${I.row} = 0; ${I.row} < ${I.batch}; ${I.row}++) {`);
  L.push(`${ind}      if (${I.step} < ${I.lengths}[${I.row}]) continue;`);
  for (const s of cell.prev) {
    const n = width(s);
    L.push(`${ind}      ${stateSeq.get(s.name)}.copyWithin(((${I.step} + 1) * ${I.batch} + ${I.row}) * ${n}, (${I.step} * ${I.batch} + ${I.row}) * ${n}, (${I.step} * ${I.batch} + ${I.row} + 1) * ${n});`);
  }
  L.push(`${ind}    }`, `${ind}  }`);
  L.push(`${ind}}`);
  if (rec) for (const [id, nm] of scratch) fwdBuffers.push({ name: nm, len: mulX(symX('@batch'), dimX(nodeById.get(id)!.shape[0]!)) });
  return L;
}
