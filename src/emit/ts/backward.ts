// The backward of a TypeScript kernel module: per step (last first) the seeds, the packed transposed products and
// the fused phases of the backward plan; after the loop, δx of all steps and the weight gradients as one product each.

import { type Expr, isConst, type Leaf } from '../../ir/expr.js';
import { type Dim, dimKey } from '../../ir/shape.js';
import { tsString } from '../../text/escape.js';
import type { BackCtx } from './backplan.js';
import type { ModuleCtx, Store } from './context.js';
import { phaseLoops } from './phase.js';
import { addX, dimX, type IntX, mulX, symX, type PRead } from './program.js';
import { nonZeroParts, stackParts } from './slices.js';

/** The body of backward (A = Float32Array, sfx '_') or backward64 (Float64Array, '_f64_'). */
export function backwardCode(ctx: ModuleCtx, b: BackCtx, A: string, sfx: string): string[] {
  const { I, N, cell, fp, dim, width, id, stateSeq, groupName, packed, tapeName, leafLoc, pLoc, sliceRead } = ctx;
  const { bwdBuffers, bwdStep, bwdPost } = ctx.prog;
  const { lvl, groupLeaf, pieceLeaf, afterLoopGroups, prevRoots, inputRootsRw, scalarParams, sumGrads, dyStores, bmax, bphases, bnodeById, bscratch } = b;
  const { bstoredAcross, dIn, carry, carryNext, dyBuf, dvBuf, dpBuf, gradName, dxName, bwLoc, bwLocs } = b;
  const L: string[] = [];
  const ind = '  ';
  const rec = sfx === '_'; // the f32 variant (its helpers are gemmNT_ ...) records the program
  const SB = mulX(symX('@steps'), symX('@batch'));
  const buf = (name: string, len: IntX) => rec && bwdBuffers.push({ name, len });
  const bwRead = (e: Expr): PRead | undefined => {
    if (e.kind === 'const') return undefined;
    if (e.kind === 'slice') return sliceRead(e, bwLocs);
    const loc = bwLoc(e) ?? (e.kind === 'leaf' ? leafLoc(e) : undefined);
    return loc && { kind: 'loc', loc: pLoc(loc) };
  };
  for (const p of cell.params) buf(gradName.get(p.name)!, mulX(...p.shape.map(dimX)));
  for (const x of cell.inputs) buf(dxName.get(x.name)!, mulX(SB, dimX(x.shape[0]!)));
  for (const g of fp.groups) buf(dyBuf.get(g.index)!, mulX(SB, dimX(g.cols)));
  for (const [k, nm] of dvBuf) buf(nm, mulX(symX('@batch'), dimX(fp.groups[k]!.width)));
  for (const [id, nm] of dpBuf) buf(nm, mulX(symX('@batch'), dimX([...pieceLeaf.values()].find((q) => q.leaf.id === id)!.leaf.shape[0]!)));
  for (const s of cell.prev) for (const m of [dIn, carry, carryNext]) buf(m.get(s.name)!, mulX(symX('@batch'), dimX(s.shape[0]!)));
  for (const p of cell.params) L.push(`${ind}const ${gradName.get(p.name)} = new ${A}(${id(p.name)}.length);`);
  for (const x of cell.inputs) L.push(`${ind}const ${dxName.get(x.name)} = new ${A}(${I.steps} * ${I.batch} * ${width(x)});`);
  for (const g of fp.groups) L.push(`${ind}const ${dyBuf.get(g.index)} = new ${A}(${I.steps} * ${I.batch} * ${dim(g.cols)}); // δ of ${g.pieces.map((p) => p.W.name).join(', ')} products, every step`);
  for (const [k, nm] of dvBuf) L.push(`${ind}const ${nm} = new ${A}(${I.batch} * ${dim(fp.groups[k]!.width)});`);
  for (const [id, nm] of dpBuf) { const pl = [...pieceLeaf.values()].find((q) => q.leaf.id === id)!; L.push(`${ind}const ${nm} = new ${A}(${I.batch} * ${width(pl.leaf)});`); }
  for (const s of cell.prev) {
    L.push(`${ind}const ${dIn.get(s.name)} = new ${A}(${I.batch} * ${width(s)});`);
    L.push(`${ind}let ${carry.get(s.name)} = new ${A}(${I.batch} * ${width(s)});`);
    L.push(`${ind}let ${carryNext.get(s.name)} = new ${A}(${I.batch} * ${width(s)});`);
  }
  const scratchDecl = L.length;
  L.push(`${ind}for (let ${I.step} = ${I.steps} - 1; ${I.step} >= 0; ${I.step}--) {`);
  L.push(`${ind}  // δs_t = dL/ds_t + what step t+1 sent back; zero on padded steps`);
  if (rec) bwdStep.push({ kind: 'seedIn' });
  L.push(`${ind}  for (let ${I.row} = 0; ${I.row} < ${I.batch}; ${I.row}++) {`);
  L.push(`${ind}    const ${I.dead} = ${I.lengths} !== undefined && ${I.step} >= ${I.lengths}[${I.row}];`);
  for (const s of cell.prev) {
    const n = width(s);
    const d = N.fresh(`g${s.name}`);
    L.push(`${ind}    const ${d} = own_(${I.dStates}, ${tsString(s.name)});`);
    L.push(`${ind}    for (let ${I.col} = 0; ${I.col} < ${n}; ${I.col}++) {`);
    L.push(`${ind}      const ${I.k} = ${I.row} * ${n} + ${I.col};`);
    L.push(`${ind}      ${dIn.get(s.name)}[${I.k}] = ${I.dead} ? 0 : ${carry.get(s.name)}[${I.k}] + (${d} === undefined ? 0 : ${d}[${I.step} * ${I.batch} * ${n} + ${I.k}]);`);
    L.push(`${ind}    }`);
  }
  L.push(`${ind}  }`);
  bphases.forEach((nodes, level) => {
    for (const [k, nm] of dvBuf) {
      const g = fp.groups[k]!;
      if (lvl(groupLeaf.get(k)!) !== level) continue;
      L.push(`${ind}  // Σ Wᵀ δ over [${g.pieces.map((p) => p.W.name).join(', ')}] in one product`);
      L.push(`${ind}  gemmNN${sfx}(${I.batch}, ${dim(g.width)}, ${dim(g.cols)}, ${dyBuf.get(k)}, ${I.step} * ${I.batch} * ${dim(g.cols)}, ${dim(g.cols)}, ${packed.get(k)}, 0, ${dim(g.width)}, ${nm}, 0, ${dim(g.width)}, false);`);
      if (rec) bwdStep.push({ kind: 'gemm', form: 'NN', M: symX('@batch'), N: dimX(g.width), K: dimX(g.cols), a: { buf: dyBuf.get(k)!, off: mulX(symX('@step'), symX('@batch'), dimX(g.cols)), ld: dimX(g.cols) }, b: { buf: packed.get(k)!, off: [], ld: dimX(g.width) }, c: { buf: nm, off: [], ld: dimX(g.width) }, accumulate: false });
    }
    for (const [, p] of pieceLeaf) {
      if (lvl(p.leaf) !== level) continue;
      const g = p.bp.group;
      const W = p.bp.piece.W;
      if (p.bp.piece.transpose) {
        // (W v)ᵀ block: δv[colOff..] = W[colOff.., :] δ
        L.push(`${ind}  gemmNT${sfx}(${I.batch}, ${width(p.leaf)}, ${dim(W.shape[1]!)}, ${dyBuf.get(g.index)}, ${I.step} * ${I.batch} * ${dim(g.cols)} + ${dim(p.bp.piece.outOff)}, ${dim(g.cols)}, ${id(W.name)}, ${dim(p.bp.piece.colOff)} * ${dim(W.shape[1]!)}, ${dim(W.shape[1]!)}, ${dpBuf.get(p.leaf.id)}, 0, ${width(p.leaf)}, false);`);
        if (rec) bwdStep.push({ kind: 'gemm', form: 'NT', M: symX('@batch'), N: dimX(p.leaf.shape[0]!), K: dimX(W.shape[1]!), a: { buf: dyBuf.get(g.index)!, off: addX(mulX(symX('@step'), symX('@batch'), dimX(g.cols)), dimX(p.bp.piece.outOff)), ld: dimX(g.cols) }, b: { buf: id(W.name), off: mulX(dimX(p.bp.piece.colOff), dimX(W.shape[1]!)), ld: dimX(W.shape[1]!) }, c: { buf: dpBuf.get(p.leaf.id)!, off: [], ld: dimX(p.leaf.shape[0]!) }, accumulate: false });
        continue;
      }
      L.push(`${ind}  gemmNN${sfx}(${I.batch}, ${width(p.leaf)}, ${dim(W.shape[0]!)}, ${dyBuf.get(g.index)}, ${I.step} * ${I.batch} * ${dim(g.cols)} + ${dim(p.bp.piece.outOff)}, ${dim(g.cols)}, ${id(W.name)}, ${dim(p.bp.piece.colOff)}, ${dim(W.shape[1]!)}, ${dpBuf.get(p.leaf.id)}, 0, ${width(p.leaf)}, false);`);
      if (rec) bwdStep.push({ kind: 'gemm', form: 'NN', M: symX('@batch'), N: dimX(p.leaf.shape[0]!), K: dimX(W.shape[0]!), a: { buf: dyBuf.get(g.index)!, off: addX(mulX(symX('@step'), symX('@batch'), dimX(g.cols)), dimX(p.bp.piece.outOff)), ld: dimX(g.cols) }, b: { buf: id(W.name), off: dimX(p.bp.piece.colOff), ld: dimX(W.shape[1]!) }, c: { buf: dpBuf.get(p.leaf.id)!, off: [], ld: dimX(p.leaf.shape[0]!) }, accumulate: false });
    }
    const stores: Store[] = [];
    const here = (e: Expr) => lvl(e) === level && !isConst(e);
    for (const e of nodes) { const loc = bwLoc(e); if (loc && bstoredAcross.has(e.id)) stores.push({ value: e, loc, op: '=' }); }
    for (const d of dyStores) if (here(d.value)) stores.push({ value: d.value, loc: { arr: dyBuf.get(d.group.index)!, layout: 'seq', width: dim(d.group.cols), off: dimKey(d.outOff) === '0' ? undefined : dim(d.outOff), n: d.group.cols, offD: d.outOff }, op: '=' });
    // A scalar parameter's gradient sums its term over the elements too: every column adds into element 0.
    const at = (o: Dim) => (dimKey(o) === '0' ? {} : { off: dim(o), offD: o });
    for (const s of sumGrads) if (here(s.value)) stores.push({ value: s.value, loc: { arr: gradName.get(s.param)!, layout: scalarParams.has(s.param) ? 'scalar' : 'param', width: '', n: s.value.shape[0]!, ...at(s.off) }, op: '+=' });
    for (const [s, e] of prevRoots) {
      const n = cell.prev.find((p) => p.name === s)!.shape[0]!;
      // zero parts of a stacked carry are written too: the buffer is reused every step
      if (level === bmax && !isConst(e)) for (const q of stackParts(e)) stores.push({ value: q.value, loc: { arr: carryNext.get(s)!, layout: 'row', width: dim(n), n, ...at(q.off) }, op: '=' });
    }
    for (const [x, e] of inputRootsRw) {
      const n = cell.inputs.find((i) => i.name === x)!.shape[0]!;
      if (!(e.kind === 'leaf' && e.name.startsWith('#none'))) for (const q of nonZeroParts(e)) if (here(q.value)) stores.push({ value: q.value, loc: { arr: dxName.get(x)!, layout: 'seq', width: dim(n), n, ...at(q.off) }, op: '=' });
    }
    if (nodes.length || stores.length) L.push(...phaseLoops(ctx, nodes, stores, bwLoc, () => undefined, `${ind}  `));
    if (rec && (nodes.length || stores.length)) bwdStep.push({ kind: 'phase', nodes, stores: stores.map((st) => ({ value: st.value, loc: pLoc(st.loc), op: st.op })), read: bwRead });
  });
  for (const [s, e] of prevRoots) if (isConst(e)) L.push(`${ind}  ${carryNext.get(s)}.fill(${e.value});`);
  if (rec) for (const [s, e] of prevRoots) if (isConst(e)) bwdStep.push({ kind: 'fill', buf: carryNext.get(s)!, value: e.value });
  if (rec) bwdStep.push({ kind: 'padPass' });
  L.push(`${ind}  if (${I.lengths} !== undefined) {`);
  L.push(`${ind}    // a padded step passes δ through unchanged`);
  L.push(`${ind}    for (let ${I.row} = 0; ${I.row} < ${I.batch}; ${I.row}++) {`);
  L.push(`${ind}      if (${I.step} < ${I.lengths}[${I.row}]) continue;`);
  for (const s of cell.prev) L.push(`${ind}      ${carryNext.get(s.name)}.set(${carry.get(s.name)}.subarray(${I.row} * ${width(s)}, (${I.row} + 1) * ${width(s)}), ${I.row} * ${width(s)});`);
  L.push(`${ind}    }`, `${ind}  }`);
  for (const s of cell.prev) L.push(`${ind}  [${carry.get(s.name)}, ${carryNext.get(s.name)}] = [${carryNext.get(s.name)}, ${carry.get(s.name)}];`);
  L.push(`${ind}}`);
  for (const k of afterLoopGroups) {
    const g = fp.groups[k]!;
    const x = (g.v as Leaf).name;
    const root = inputRootsRw.get(x)!;
    const hasRest = !(root.kind === 'leaf' && root.name.startsWith('#none'));
    L.push(`${ind}// δ${x} for all steps: Σ Wᵀ δ over [${g.pieces.map((p) => p.W.name).join(', ')}] in one product`);
    L.push(`${ind}gemmNN${sfx}(${I.steps} * ${I.batch}, ${dim(g.width)}, ${dim(g.cols)}, ${dyBuf.get(k)}, 0, ${dim(g.cols)}, ${packed.get(k)}, 0, ${dim(g.width)}, ${dxName.get(x)}, 0, ${dim(g.width)}, ${hasRest});`);
    if (rec) bwdPost.push({ kind: 'gemm', form: 'NN', M: SB, N: dimX(g.width), K: dimX(g.cols), a: { buf: dyBuf.get(k)!, off: [], ld: dimX(g.cols) }, b: { buf: packed.get(k)!, off: [], ld: dimX(g.width) }, c: { buf: dxName.get(x)!, off: [], ld: dimX(g.width) }, accumulate: hasRest });
  }
  L.push(`${ind}// weight gradients of all steps: Σ_t δ_t v_tᵀ as one product per packed group`);
  for (const g of fp.groups) {
    const vArr = g.kind === 'input' ? id((g.v as Leaf).name) : g.kind === 'state' ? stateSeq.get((g.v as Leaf).name)! : g.newState !== undefined ? stateSeq.get(g.newState)! : tapeName.get(g.v.id)!;
    // s_t of every step starts one step into the state sequence (which begins with s_0).
    const vOff = g.newState !== undefined ? `${I.batch} * ${dim(g.width)}` : '0';
    const dW = N.fresh(`d${groupName(g)}Weights`);
    L.push(`${ind}const ${dW} = new ${A}(${dim(g.cols)} * ${dim(g.width)});`);
    L.push(`${ind}gemmTN${sfx}(${dim(g.cols)}, ${dim(g.width)}, ${I.steps} * ${I.batch}, ${dyBuf.get(g.index)}, 0, ${dim(g.cols)}, ${vArr}, ${vOff}, ${dim(g.width)}, ${dW}, 0, ${dim(g.width)}, false);`);
    buf(dW, mulX(dimX(g.cols), dimX(g.width)));
    if (rec) bwdPost.push({ kind: 'gemm', form: 'TN', M: dimX(g.cols), N: dimX(g.width), K: SB, a: { buf: dyBuf.get(g.index)!, off: [], ld: dimX(g.cols) }, b: { buf: vArr, off: g.newState !== undefined ? mulX(symX('@batch'), dimX(g.width)) : [], ld: dimX(g.width) }, c: { buf: dW, off: [], ld: dimX(g.width) }, accumulate: false });
    if (rec) for (const p of g.pieces) bwdPost.push({ kind: 'unpack', packed: dW, rowOff: p.outOff, width: g.width, W: gradName.get(p.W.name)!, rows: p.W.shape[0]!, cols: p.W.shape[1]!, colOff: p.colOff, transpose: !!p.transpose });
    for (const p of g.pieces) L.push(`${ind}unpackRows${p.transpose ? 'T' : ''}_(${dW}, ${dim(p.outOff)}, ${dim(g.width)}, ${gradName.get(p.W.name)}, ${dim(p.W.shape[0]!)}, ${dim(p.W.shape[1]!)}, ${dim(p.colOff)});`);
  }
  const sd: string[] = [];
  for (const [id, nm] of bscratch) sd.push(`${ind}const ${nm} = new ${A}(${I.batch} * ${width(bnodeById.get(id)!)});`);
  for (const [id, nm] of bscratch) buf(nm, mulX(symX('@batch'), dimX(bnodeById.get(id)!.shape[0]!)));
  L.splice(scratchDecl, 0, ...sd);
  return L;
}
