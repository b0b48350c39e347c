// The shared state of one TypeScript kernel module: generated names, the forward plan's buffers and the locations
// of values, read by the forward and backward printers (forward.ts, backward.ts) and the module wrapper (module.ts).

import type { CompiledCell } from '../../derive/compile.js';
import { forwardNames } from '../../derive/reverse.js';
import { children, type Expr, type Leaf, type Slice, topoOrder } from '../../ir/expr.js';
import { addDims, type Dim, dimKey, ZERO_DIM } from '../../ir/shape.js';
import { GeneratedNames, specIdent } from '../names.js';
import { customHelperName, FIXED_HELPERS } from './expr.js';
import { type Group, planBackward, planForward } from './plan.js';
import type { Layout, Op, PBuffer, PLoc, PRead } from './program.js';

export interface Loc {
  readonly arr: string;
  readonly layout: Layout;
  readonly width: string;
  readonly off?: string;
  /** The same width and offset as dimensions, for the program other printers read. */
  readonly n: Dim;
  readonly offD?: Dim;
}
export interface Store {
  readonly value: Expr;
  readonly loc: Loc;
  readonly op: '=' | '+=';
}

/** Names, sizes and forward locations of a cell's TypeScript module (names are drawn in a fixed order: the output depends on it). */
export function moduleContext(c: CompiledCell) {
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
  const nodeById = new Map<number, Expr>();
  for (const e of topoOrder([...cell.next.values(), ...fp.tape])) nodeById.set(e.id, e);
  // Row buffers of values stored across phases (the operands of reductions, ...) are named before either precision declares them.
  for (const e of nodeById.values()) if (fp.stored.has(e.id)) fwdLoc(e);
  return {
    c, spec, cell, bw, fp, bp, id, N, I, dim, width, fnames, bindingName, nameOf, stateSeq, rootState, groupName, packed, proj, tapeNodes, tapeName, scratch,
    fwdLoc, leafLoc, helpers, prog: { fwdBuffers, fwdPre, fwdStep, bwdBuffers, bwdStep, bwdPost }, pLoc, equationOf, shiftLoc, sliceLocs, locsOf, sliceRead, nodeById,
  };
}

export type ModuleCtx = ReturnType<typeof moduleContext>;
