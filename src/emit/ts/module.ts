// Emits a cell's self-contained TypeScript kernel module: f32 and f64 sequence forward and BPTT.

import type { CompiledCell } from '../../derive/compile.js';
import { forwardNames } from '../../derive/reverse.js';
import { paramRoles } from '../../derive/roles.js';
import { add, broadcast, concat, type Expr, isConst, leaf, map, mul, neg, reduce, slice, type Slice, sub, topoOrder, zip, children, type Leaf } from '../../ir/expr.js';
import { addDims, type Dim, dimKey, showShape, ZERO_DIM } from '../../ir/shape.js';
import { nonZeroParts, orderByLength, stackParts } from './slices.js';
import { cellLatex } from '../latex.js';
import { GeneratedNames, specIdent } from '../names.js';
import { tsBlockComment, tsKey, tsLineComment, tsString, tsTemplate } from '../../text/escape.js';
import { renderLinalg } from './linalg.js';
import { customHelper, customHelperName, FIXED_HELPERS, TS_HELPERS, TsPrinter } from './expr.js';
import { type Group, isRowBarrier, planBackward, planForward, sinkLevels } from './plan.js';
import { addX, dimX, type IntX, mulX, numX, type Op, type PBuffer, type PLoc, type Program, type PRead, symX } from './program.js';

type Layout = 'seq' | 'seqNext' | 'row' | 'param' | 'scalar';
interface Loc {
  readonly arr: string;
  readonly layout: Layout;
  readonly width: string;
  readonly off?: string;
  /** The same width and offset as dimensions, for the program other printers read. */
  readonly n: Dim;
  readonly offD?: Dim;
}
interface Store {
  readonly value: Expr;
  readonly loc: Loc;
  readonly op: '=' | '+=';
}

export interface TsModule {
  readonly text: string;
  /** Floats stored per step per batch row by the forward for the backward (tape), incl. the states. */
  readonly tapeFloats: Dim[];
  /** The schedule the kernels follow, as data. */
  readonly program: Program;
}

export function emitTsModule(c: CompiledCell, command: string): TsModule {
  const { spec, cell, bw } = c;
  const fp = planForward(cell, bw);
  const bp = planBackward(cell, bw, fp);
  // Spec names print through id(); every generated identifier ends in '_' (src/emit/names.ts), so none can clash.
  const id = (name: string): string => specIdent('ts', name);
  const N = new GeneratedNames([...FIXED_HELPERS, ...spec.activations.flatMap((a) => [customHelperName(a.name), customHelperName(`${a.name}_grad`)])]);
  const I = {
    sizes: N.fresh('sizes'), params: N.fresh('params'), inputs: N.fresh('inputs'), opts: N.fresh('opts'), steps: N.fresh('steps'), batch: N.fresh('batch'),
    lengths: N.fresh('lengths'), step: N.fresh('step'), row: N.fresh('row'), col: N.fresh('col'), tape: N.fresh('tape'), dStates: N.fresh('dStates'), k: N.fresh('k'), j: N.fresh('j'),
    dead: N.fresh('dead'), A: N.fresh('A'),
  };
  /** A dimension in code (sizes by identifier), or as the spec writes it (`shown`, for comments and strings). */
  const dim = (d: Dim, shown = false): string => {
    const nm = shown ? (n: string) => n : id;
    const parts = d.terms.map(([n, k]) => (k === 1 ? nm(n) : `${k} * ${nm(n)}`));
    if (d.constant !== 0 || parts.length === 0) parts.push(String(d.constant));
    return parts.length > 1 ? `(${parts.join(' + ')})` : parts[0]!;
  };
  const width = (e: Expr): string => dim(e.shape[0]!);
  const fnames = forwardNames(cell);
  const bindingName = new Map(bw.bindings.map((b) => [b.expr.id, b.name]));
  const readable = new Map<number, string>();
  /** A readable base name: the spec's or the derivation's, else one built from the operands (r_h_prev). */
  const nameOf = (e: Expr): string => {
    const r = readable.get(e.id);
    if (r) return r;
    let n = fnames.get(e.id)?.name ?? bindingName.get(e.id);
    if (!n) {
      const part = (x: Expr): string | undefined =>
        x.kind === 'leaf' ? (x.role === 'state' ? `${x.name}_prev` : x.role === 'seed' ? undefined : x.name) : fnames.get(x.id)?.name ?? bindingName.get(x.id);
      const ops = children(e).map(part);
      n = e.kind === 'zip' && ops.every((o) => o !== undefined) && ops.join('_').length <= 16 ? ops.join('_') : 't';
    }
    readable.set(e.id, n);
    return n;
  };

  // ---- forward: buffers --------------------------------------------------------------------
  const stateSeq = new Map(cell.prev.map((s) => [s.name, N.fresh(`${s.name}Seq`)]));
  const rootState = new Map([...cell.next].map(([s, e]) => [e.id, s]));
  const groupName = (g: Group): string => (g.v.kind === 'leaf' ? g.v.name : nameOf(g.v));
  const packed = new Map(fp.groups.map((g) => [g.index, N.fresh(`${groupName(g)}Weights`)]));
  const proj = new Map(fp.groups.map((g) => [g.index, N.fresh(`${groupName(g)}Proj`)]));
  const tapeNodes: Expr[] = [];
  for (const e of fp.tape) if (!rootState.has(e.id)) tapeNodes.push(e);
  // A product of a new state s_t reads the state sequence; other in-step vectors are kept on the tape.
  for (const g of fp.groups) if (g.kind === 'step' && g.newState === undefined && !tapeNodes.includes(g.v)) tapeNodes.push(g.v);
  const tapeName = new Map(tapeNodes.map((e) => [e.id, N.fresh(`${nameOf(e)}Tape`)]));
  const scratch = new Map<number, string>();
  const fwdLoc = (e: Expr): Loc | undefined => {
    const s = rootState.get(e.id);
    if (s) return { arr: stateSeq.get(s)!, layout: 'seqNext', width: width(e), n: e.shape[0]! };
    const t = tapeName.get(e.id);
    if (t) return { arr: t, layout: 'seq', width: width(e), n: e.shape[0]! };
    if (fp.stored.has(e.id)) {
      if (!scratch.has(e.id)) scratch.set(e.id, N.fresh(`${nameOf(e)}Buf`));
      return { arr: scratch.get(e.id)!, layout: 'row', width: width(e), n: e.shape[0]! };
    }
    return undefined;
  };
  const leafLoc = (l: Leaf): Loc => {
    switch (l.role) {
      case 'param':
        if (l.shape.length === 0) return { arr: id(l.name), layout: 'scalar', width: '1', n: ZERO_DIM };
        return { arr: id(l.name), layout: 'param', width: width(l), n: l.shape[0]! };
      case 'input':
        return { arr: id(l.name), layout: 'seq', width: width(l), n: l.shape[0]! };
      case 'state':
        return { arr: stateSeq.get(l.name)!, layout: 'seq', width: width(l), n: l.shape[0]! };
      case 'seed':
        throw new Error(`seed ${l.name} has no forward location`);
    }
  };

  const helpers = new Set<string>();
  // The schedule as data (recorded once, by the float32 pass) for the other CPU printers.
  const fwdBuffers: PBuffer[] = [];
  const fwdPre: Op[] = [];
  const fwdStep: Op[] = [];
  const bwdBuffers: PBuffer[] = [];
  const bwdStep: Op[] = [];
  const bwdPost: Op[] = [];
  const pLoc = (l: Loc): PLoc => ({ buf: l.arr, layout: l.layout, n: l.n, off: l.offD });

  const equationOf = new Map<Expr, (typeof cell.equations)[number]>();
  for (const q of cell.equations) if (!equationOf.has(q.expr)) equationOf.set(q.expr, q);
  /** Emits the loops of one phase: nodes computed (grouped by vector length) and values stored. */
  /** The location of a[start..] for a slice: its operand's locations, shifted. */
  const shiftLoc = (l: Loc, by: Dim): Loc => {
    const offD = addDims(l.offD ?? ZERO_DIM, by);
    return { ...l, offD, off: dimKey(offD) === '0' ? undefined : dim(offD) };
  };
  const sliceLocs = (e: Slice, locsOf: (e: Expr) => Loc[] | undefined): Loc[] => {
    const inner = e.a.kind === 'slice' ? sliceLocs(e.a, locsOf) : locsOf(e.a);
    if (!inner) throw new Error(`the TypeScript kernels have no location for a sliced vector in ${spec.name}`);
    return inner.map((l) => shiftLoc(l, e.start));
  };
  /** A node's location(s) as a list, from a location function; leaves from their own. */
  const locsOf = (e: Expr, locOf: (e: Expr) => Loc | undefined): Loc[] | undefined => {
    const l = locOf(e) ?? (e.kind === 'leaf' ? leafLoc(e) : undefined);
    return l ? [l] : undefined;
  };
  const sliceRead = (e: Slice, locsOf: (e: Expr) => Loc[] | undefined): PRead => {
    const ls = sliceLocs(e, locsOf).map(pLoc);
    return ls.length === 1 ? { kind: 'loc', loc: ls[0]! } : { kind: 'sum', locs: ls };
  };

  const phaseLoops = (nodes: readonly Expr[], stores: readonly Store[], locOf: (e: Expr) => Loc | undefined, special: (e: Expr, base: (loc: Loc) => string) => string | undefined, indent: string,
    products: (e: Expr) => Loc[] | undefined = () => undefined): string[] => {
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
  };
  const storeLength = (s: Store): Dim => {
    const d = s.value.shape[0];
    if (!d) throw new Error(`store of a scalar into ${s.loc.arr}`);
    return d;
  };

  // Operands as the kernels see them: sums flattened only for backward group reads (see rewrite).
  const operandsOf = (e: Expr): readonly Expr[] => (e.kind === 'matvec' || isRowBarrier(e) ? [] : children(e));

  // ---- forward: code -----------------------------------------------------------------------
  const forwardCode = (A: string, sfx: string): string[] => {
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
        L.push(...phaseLoops(nodes, stores, fwdLoc, special, `${ind}  `, productLocs));
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
  };
  const nodeById = new Map<number, Expr>();
  for (const e of topoOrder([...cell.next.values(), ...fp.tape])) nodeById.set(e.id, e);
  // Row buffers of values stored across phases (the operands of reductions, ...) are named before either precision declares them.
  for (const e of nodeById.values()) if (fp.stored.has(e.id)) fwdLoc(e);

  // ---- backward: rewrite products into packed reads -------------------------------------------
  const forwardIds = new Set(topoOrder([...cell.next.values()]).map((e) => e.id));
  const recomputedIds = new Set(bw.recomputed.map((e) => e.id));
  const inputRoots = new Set([...bw.inputAdjoint.values()].map((e) => e.id));
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
  const dpBuf = new Map([...pieceLeaf.entries()].map(([id, p]) => [p.leaf.id, N.fresh(`d${p.bp.piece.W.name}Part`)]));
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

  const backwardCode = (A: string, sfx: string): string[] => {
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
      if (nodes.length || stores.length) L.push(...phaseLoops(nodes, stores, bwLoc, () => undefined, `${ind}  `));
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
  };

  // ---- assemble ----------------------------------------------------------------------------
  const lat = cellLatex(c);
  // A size that only the readout uses (rnn-tanh's classes) shapes no kernel tensor: optional here.
  const used = new Set([...spec.params, ...spec.inputs, ...spec.state].flatMap((t) => t.shape.flatMap((d) => d.terms.map(([n]) => n))));
  const kernelSizes = spec.sizes.filter((s) => used.has(s.name) || s.name !== spec.readout?.classes);
  const sizesType = spec.sizes.map((s) => `  readonly ${tsKey(s.name)}${kernelSizes.includes(s) ? '' : '?'}: number;`).join('\n');
  /** `{ a, for: _for }`: a destructuring pattern binding each spec name to its identifier. */
  const pattern = (names: readonly string[]): string => `{ ${names.map((n) => (id(n) === n ? n : `${tsKey(n)}: ${id(n)}`)).join(', ')} }`;
  /** `{ a: a_, for: x }`: an object literal with the user's names as keys. */
  const object = (entries: readonly (readonly [string, string])[]): string => `{ ${entries.map(([k, v]) => (k === v ? k : `${tsKey(k)}: ${v}`)).join(', ')} }`;
  const sizeLocals = `const ${pattern(kernelSizes.map((s) => s.name))} = checkSizes_(${I.sizes});`;
  const paramList = cell.params.map((p) => p.name);
  const shapeOf = (e: Expr) => `[${e.shape.map((d) => dim(d)).join(', ')}]`;
  const fwd32 = forwardCode('Float32Array', '_');
  const bwd32 = backwardCode('Float32Array', '_');
  const fwd64 = forwardCode('Float64Array', '_f64_');
  const bwd64 = backwardCode('Float64Array', '_f64_');
  const tapeFloats: Dim[] = [...cell.prev.map((s) => s.shape[0]!), ...tapeNodes.map((e) => e.shape[0]!)];
  const tapeFields = tapeNodes.map((e) => `${tapeName.get(e.id)}: A;`).join(' ');
  const tapeArrays = [...cell.prev.map((s) => stateSeq.get(s.name)!), ...tapeNodes.map((e) => tapeName.get(e.id)!), ...fp.groups.map((g) => packed.get(g.index)!)];
  const fnFor = (A: string, sfx: string, fwd: string[], bwd: string[]): string => `
/** Runs ${spec.name} over a whole sequence and keeps what the backward needs. */
export function forward${sfx}(${I.sizes}: Sizes, ${I.params}: Params<${A}>, ${I.inputs}: Inputs<${A}>, ${I.opts}: ForwardOptions<${A}>): ForwardResult<${A}> {
  ${sizeLocals}
  const ${I.steps} = ${I.opts}.steps;
  const ${I.batch} = ${I.opts}.batch;
  const ${I.lengths} = checkLengths_(${I.opts}.lengths, ${I.batch}, ${I.steps});
${cell.params.map((p) => `  const ${id(p.name)} = check_(own_(${I.params}, ${tsString(p.name)}), ${p.shape.map((d) => dim(d)).join(' * ') || '1'}, ${tsString(p.name)});`).join('\n')}
${cell.inputs.map((x) => `  const ${id(x.name)} = check_(own_(${I.inputs}, ${tsString(x.name)}), ${I.steps} * ${I.batch} * ${width(x)}, ${tsString(x.name)});`).join('\n')}
${fwd.join('\n')}
  return {
    states: ${object(cell.prev.map((s) => [s.name, `${stateSeq.get(s.name)}.subarray(${I.batch} * ${width(s)})`]))},
    tape: { sizes: ${I.sizes}, steps: ${I.steps}, batch: ${I.batch}, lengths: ${I.lengths}, params: ${object(paramList.map((p) => [p, id(p)]))}, inputs: ${object(cell.inputs.map((x) => [x.name, id(x.name)]))}, ${tapeArrays.join(', ')} },
  };
}

/** BPTT over the sequence a forward${sfx} call ran: gradients of every parameter, input and initial state. */
export function backward${sfx}(${I.tape}: Tape<${A}>, ${I.dStates}: Partial<States<${A}>>): BackwardResult<${A}> {
  const ${I.sizes} = ${I.tape}.sizes;
  const ${I.steps} = ${I.tape}.steps;
  const ${I.batch} = ${I.tape}.batch;
  const ${I.lengths} = ${I.tape}.lengths;
  ${sizeLocals}
  const ${pattern(paramList)} = ${I.tape}.params;
  const ${pattern(cell.inputs.map((x) => x.name))} = ${I.tape}.inputs;
  const { ${tapeArrays.join(', ')} } = ${I.tape};
${cell.prev.map((s) => `  if (own_(${I.dStates}, ${tsString(s.name)}) !== undefined) check_(own_(${I.dStates}, ${tsString(s.name)}), ${I.steps} * ${I.batch} * ${width(s)}, ${tsString(`dStates.${s.name}`)});`).join('\n')}
${bwd.join('\n')}
  return {
    params: ${object(cell.params.map((p) => [p.name, gradName.get(p.name)!]))},
    inputs: ${object(cell.inputs.map((x) => [x.name, dxName.get(x.name)!]))},
    init: ${object(cell.prev.map((s) => [s.name, carry.get(s.name)!]))},
  };
}
`;
  const f32 = fnFor('Float32Array', '', fwd32, bwd32);
  const f64 = fnFor('Float64Array', '64', fwd64, bwd64);
  const helperText = [...helpers].sort().map((h) => TS_HELPERS[h] ?? customHelper(cell.fns, h)).join('\n\n');
  const perStep = tapeFloats.map((d) => dim(d, true)).join(' + ');
  const text = `// ${tsLineComment(spec.title)}: forward and BPTT kernels over a batch, float32 and float64.
// Generated by \`${tsLineComment(command)}\` from ${tsLineComment(spec.file)}; do not edit.
//
// Forward step:
${lat.forward.map((e) => `//   ${tsLineComment(`${e.lhs} = ${e.rhs}`)}`).join('\n')}
//
// Layouts: sequences are [steps][batch][n] row-major; matrices [rows][cols] row-major; vector
// parameters are shared by the batch. The forward keeps ${perStep} floats per step and
// batch row for the backward (the states and ${tapeNodes.length ? tapeNodes.map((e) => nameOf(e)).join(', ') : 'nothing else'}).
// Names from the spec are used as they are; names the generator adds end in '_'.

export const cell = {
  name: ${tsString(spec.name)},
  title: ${tsString(spec.title)},
  sizes: [${spec.sizes.map((s) => tsString(s.name)).join(', ')}],
  inputs: { ${cell.inputs.map((x) => `${tsKey(x.name)}: ${tsString(showShape(x.shape).slice(1, -1))}`).join(', ')} },
  states: { ${cell.prev.map((s) => `${tsKey(s.name)}: ${tsString(showShape(s.shape).slice(1, -1))}`).join(', ')} },
  output: ${tsString(spec.output)},
  params: { ${cell.params.map((p) => `${tsKey(p.name)}: ${tsString(showShape(p.shape))}`).join(', ')} },
  roles: { ${Object.entries(paramRoles(c.cell)).map(([p, r]) => `${tsKey(p)}: ${JSON.stringify(r)}`).join(', ')} },
  tapeFloatsPerStep: ${tsString(perStep)},
} as const;

export interface Sizes {
${sizesType}
}
export type Params<A> = { ${paramList.map((p) => `${tsKey(p)}: A;`).join(' ')} };
export type Inputs<A> = { ${cell.inputs.map((x) => `${tsKey(x.name)}: A;`).join(' ')} };
export type States<A> = { ${cell.prev.map((s) => `${tsKey(s.name)}: A;`).join(' ')} };
export interface ForwardOptions<A> {
  /** Time steps T and batch rows B of the sequence. */
  readonly steps: number;
  readonly batch: number;
  /** Initial states, [batch][n]; zero when absent. */
  readonly init?: Partial<States<A>>;
  /** Valid steps of each batch row; later steps are padding and change nothing. */
  readonly lengths?: Int32Array;
}
export interface Tape<A> {
  readonly sizes: Sizes; readonly steps: number; readonly batch: number; readonly lengths: Int32Array | undefined;
  readonly params: Params<A>; readonly inputs: Inputs<A>;
  ${[...cell.prev.map((s) => `${stateSeq.get(s.name)}: A;`), tapeFields, ...fp.groups.map((g) => `${packed.get(g.index)}: A;`)].filter(Boolean).join(' ')}
}
export interface ForwardResult<A> {
  /** Every state at every step, [steps][batch][n]. */
  readonly states: States<A>;
  readonly tape: Tape<A>;
}
export interface BackwardResult<A> {
  readonly params: Params<A>;
  /** dL/dx for every step, [steps][batch][n]. */
  readonly inputs: Inputs<A>;
  /** dL/ds_0, [batch][n]. */
  readonly init: States<A>;
}

/** Shapes of the parameters at the given sizes. */
export function paramShapes(${I.sizes}: Sizes): { readonly [K in keyof Params<unknown>]: readonly number[] } {
  ${sizeLocals}
  return ${object(cell.params.map((p) => [p.name, shapeOf(p)]))};
}
${f32}${f64}
/** Both precisions behind one interface, for the sequence runtime. */
export const f32 = { cell, paramShapes, forward, backward };
export const f64 = { cell, paramShapes, forward: forward64, backward: backward64 };

/** o[key] if o has it as its own property: a spec may name a state 'constructor' or 'toString'. */
function own_<T>(o: Partial<Record<string, T>> | undefined, key: string): T | undefined {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function check_<A extends Float32Array | Float64Array>(a: A | undefined, length: number, what: string): A {
  if (a === undefined) throw new Error(\`${tsTemplate(spec.name)}: \${what} is missing\`);
  if (a.length !== length) throw new Error(\`${tsTemplate(spec.name)}: \${what} has \${a.length} elements, expected \${length}\`);
  return a;
}

function checkSizes_(sizes: Sizes): Sizes {
  for (const name of [${kernelSizes.map((s) => tsString(s.name)).join(', ')}] as const) {
    const n: unknown = Object.prototype.hasOwnProperty.call(sizes, name) ? sizes[name] : undefined;
    if (!(typeof n === 'number' && Number.isInteger(n) && n > 0)) throw new Error(\`${tsTemplate(spec.name)}: sizes.\${name} is \${n === undefined ? 'missing' : String(n)}; it needs a positive integer for each of ${tsTemplate(kernelSizes.map((s) => s.name).join(', '))}\`);
  }
  return sizes;
}

function checkLengths_(lengths: Int32Array | undefined, batch: number, steps: number): Int32Array | undefined {
  if (lengths === undefined) return undefined;
  if (lengths.length !== batch) throw new Error(\`${tsTemplate(spec.name)}: lengths has \${lengths.length} entries, expected \${batch}\`);
  for (const n of lengths) if (!(n >= 0 && n <= steps)) throw new Error(\`${tsTemplate(spec.name)}: a sequence length \${n} is outside 0..\${steps}\`);
  return lengths;
}

/** Copies W[:, colOff : colOff+width] into rows rowOff.. of a packed [rows][width] matrix. */
function packRows_(dst: Float32Array | Float64Array, rowOff: number, width: number, W: Float32Array | Float64Array, rows: number, cols: number, colOff: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) dst[(rowOff + i) * width + j] = W[i * cols + colOff + j];
}

/** Adds rows rowOff.. of a packed gradient back into dW[:, colOff : colOff+width]. */
function unpackRows_(src: Float32Array | Float64Array, rowOff: number, width: number, dW: Float32Array | Float64Array, rows: number, cols: number, colOff: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) dW[i * cols + colOff + j] += src[(rowOff + i) * width + j];
}
${fp.groups.some((g) => g.pieces.some((p) => p.transpose)) ? TRANSPOSED_PACKING : ''}${helperText ? `\n${helperText}\n` : ''}
${renderLinalg('Float32Array', '_').replace(/^export function/gm, 'function')}
${renderLinalg('Float64Array', '_f64_').replace(/^export function/gm, 'function')}`;
  const program: Program = {
    fwdBuffers, fwdPre, fwdStep, bwdBuffers, bwdStep, bwdPost, stateSeq, tapeBufs: tapeNodes.map((e) => tapeName.get(e.id)!), packed: fp.groups.map((g) => packed.get(g.index)!),
    grads: gradName, dx: dxName, dIn, carry, carryNext,
  };
  return { text, tapeFloats, program };
}

/** Packing for products of a transposed parameter, Wᵀ v: the packed rows are W's columns. */
const TRANSPOSED_PACKING = `
/** Copies W[rowOff' : rowOff'+width, :]ᵀ (columns of W) into rows rowOff.. of a packed [cols][width] matrix. */
function packRowsT_(dst: Float32Array | Float64Array, rowOff: number, width: number, W: Float32Array | Float64Array, rows: number, cols: number, wRowOff: number): void {
  for (let j = 0; j < cols; j++) for (let i = 0; i < width; i++) dst[(rowOff + j) * width + i] = W[(wRowOff + i) * cols + j];
}

/** Adds rows rowOff.. of a packed gradient of Wᵀ back into dW[wRowOff : wRowOff+width, :]. */
function unpackRowsT_(src: Float32Array | Float64Array, rowOff: number, width: number, dW: Float32Array | Float64Array, rows: number, cols: number, wRowOff: number): void {
  for (let j = 0; j < cols; j++) for (let i = 0; i < width; i++) dW[(wRowOff + i) * cols + j] += src[(rowOff + j) * width + i];
}
`;
