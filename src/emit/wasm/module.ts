// The WebAssembly printer: one SIMD128 module per cell from the TS target's schedule (program.ts):
// forward(frame) and backward(frame), where the frame holds sizes, steps, batch and buffer addresses.

import binaryen from 'binaryen';
import type { CompiledCell } from '../../derive/compile.js';
import { assertNever } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import { specIdent } from '../names.js';
import { addX, dimX, type IntX, mulX, numX, type Op, type PMat, type Program } from '../ts/program.js';
import { FnBuilder, i32, v128, Vec, type X } from './builder.js';
import { addGemm, addGemmNT, addPack, addPanels, addPanelsKN, GEMM, GEMM_NT, PACK, PANEL, PANEL_KN, PANEL_W } from './gemm.js';
import { addGemmPanel, GEMM_PANEL } from './panel.js';
import { addSame } from './memory.js';
import { phaseCode } from './phase.js';

/** What the glue needs to call a kernel: frame slots in order (`$size`, `@steps`, `@batch`, `@lengths`, then buffers). */
export interface WasmKernel {
  readonly slots: readonly string[];
}
export interface WasmModule {
  readonly bytes: Uint8Array;
  readonly forward: WasmKernel;
  readonly backward: WasmKernel;
  /** Buffers of the weights the printer adds (packed weights as panels of 8 columns, built by the forward), with their lengths. */
  readonly extraFwd: readonly { name: string; len: IntX }[];
}

/** binaryen passes run on every module (cheap ones; see the report in notes for timings). */
const OPT_PASSES: readonly string[] = [];

/**
 * The frame slot of a spec tensor (parameter, input): the name the schedule (src/emit/ts/program.ts) gives its
 * buffer, i.e. its TS identifier (`W_z`, `_for`). Module and glue name these slots only through this function.
 */
export const tensorSlot = (specName: string): string => specIdent('ts', specName);
export const transposedName = (packed: string): string => `${packed}:T`;
/** The packed [rows][width] matrix itself as panels of 8 columns (products δ W in the backward). */
export const panelsName = (packed: string): string => `${packed}:P`;

/** Value of an integer expression at the given sizes (steps = batch = 1). */
const evalX = (x: IntX, z: (s: string) => number): number => x.reduce((a, mono) => a + mono.k * mono.syms.reduce((q, s) => q * z(s), 1), 0);
export const dStateName = (s: string): string => `dStates:${s}`;

/** Builds, validates and optimises the module; the bytes are deterministic for a given program. */
export function emitWasm(c: CompiledCell, p: Program): WasmModule {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.NontrappingFPToInt | binaryen.Features.SignExt | binaryen.Features.MutableGlobals);
  m.setMemory(1, 65536, 'memory');
  addGemm(m);
  addPack(m);
  addGemmNT(m);
  addSame(m);
  addPanels(m);
  addGemmPanel(m);
  addPanelsKN(m);
  const defined = new Set<string>();

  const sizeSlots = c.spec.sizes.map((s) => `$${s.name}`);
  const head = [...sizeSlots, '@steps', '@batch', '@lengths'];
  // forward only: 1 when the packed weights (and their panels) are already in place (cached)
  const fwdHead = [...head, '@packed'];
  const params = c.cell.params.map((x) => tensorSlot(x.name));
  const inputs = c.cell.inputs.map((x) => tensorSlot(x.name));
  const extraFwd: { name: string; len: IntX }[] = p.packed.map((name) => {
    const b = p.fwdBuffers.find((x) => x.name === name)!;
    const op = p.fwdPre.find((o) => o.kind === 'pack' && o.packed === name) as { width: Dim };
    // [N][K] as panels of 8 columns: N rounded up to a multiple of 8
    return { name: transposedName(name), len: addX(b.len, mulX(numX(PANEL_W - 1), dimX(op.width))) };
  });
  // [rows][width] as panels of 8 columns: rows (the sum of its pieces' rows) × width rounded up to 8
  const rowsOf = (pk: string): IntX => p.fwdPre.filter((o) => o.kind === 'pack' && o.packed === pk)
    .map((o) => (o as { rows: Dim; cols: Dim; transpose: boolean })).map((o) => dimX(o.transpose ? o.cols : o.rows)).reduce((a, b) => addX(a, b), numX(0));
  const sizeAt = (s: string) => (s.startsWith('$') ? 3 + 2 * c.spec.sizes.findIndex((z) => `$${z.name}` === s) : 1);
  const panelled = p.packed.filter((pk) => {
    const b = p.fwdBuffers.find((x) => x.name === pk)!;
    const op = p.fwdPre.find((o) => o.kind === 'pack' && o.packed === pk) as { width: Dim };
    // pieces that do not tile the packed rows keep the general GEMM
    return evalX(b.len, sizeAt) === evalX(rowsOf(pk), sizeAt) * evalX(dimX(op.width), sizeAt);
  });
  for (const pk of panelled) extraFwd.push({ name: panelsName(pk), len: addX(p.fwdBuffers.find((x) => x.name === pk)!.len, mulX(numX(PANEL_W - 1), rowsOf(pk))) });
  const fwdSlots = [...fwdHead, ...params, ...inputs, ...p.fwdBuffers.map((b) => b.name), ...extraFwd.map((b) => b.name)];
  const tapeSlots = [...params, ...inputs, ...p.stateSeq.values(), ...p.tapeBufs, ...p.packed];
  const bwdSlots = [...head, ...tapeSlots, ...panelled.map(panelsName), ...p.bwdBuffers.map((b) => b.name), ...c.cell.prev.map((s) => dStateName(s.name))];

  const kernel = (name: 'forward' | 'backward', slots: readonly string[], pre: readonly Op[], step: readonly Op[], post: readonly Op[], reverse: boolean): void => {
    const f = new FnBuilder(m, [['frame', i32]]);
    const V = new Vec(m);
    const local = new Map(slots.map((s) => [s, f.local(`s_${s.replace(/[^A-Za-z0-9_]/g, '_')}`, i32)]));
    const get = (s: string): X => {
      const l = local.get(s);
      if (!l) throw new Error(`invariant: no frame slot '${s}'`);
      return f.get(l);
    };
    const stepL = f.local('step', i32);
    let label = 0;
    const nextLabel = () => `L${label++}`;
    const intX = (x: IntX): X => {
      if (x.length === 0) return f.c(0);
      const terms = x.map((mono) => {
        const fs = mono.syms.map((s) => (s === '@step' ? f.get(stepL) : get(s)));
        if (mono.k !== 1 || fs.length === 0) fs.unshift(f.c(mono.k));
        return fs.reduce((a, b) => f.imul(a, b));
      });
      return terms.reduce((a, b) => f.iadd(a, b));
    };
    const ptr = (x: PMat): X => f.iadd(get(x.buf), m.i32.shl(intX(x.off), f.c(2)));
    const env = {
      f, fns: c.cell.fns, defined, dim: (d: Dim) => intX(dimX(d)),
      buf: (b: string) => get(b), step: () => f.get(stepL), stepNext: () => f.iadd(f.get(stepL), f.c(1)), batch: () => get('@batch'), label: nextLabel,
    };
    // fresh i32 expressions each use: binaryen expressions must not be shared between parents
    const E = { step: () => f.get(stepL), batch: () => get('@batch') };
    const rowL = f.local('r', i32), kL = f.local('kk', i32), nL = f.local('nn', i32), tmp = f.local('tmp', i32);
    const lengthsAt = (row: X): X => m.i32.load(0, 4, f.iadd(get('@lengths'), m.i32.shl(row, f.c(2))));
    const dead = (): X => m.if(m.i32.eqz(get('@lengths')), f.c(0), m.i32.ge_s(E.step(), lengthsAt(f.get(rowL))));
    const opCode = (op: Op): X => {
      switch (op.kind) {
        case 'pack':
        case 'unpack': {
          const d = env.dim;
          return m.call(PACK, [get(op.packed), d(op.rowOff), d(op.width), get(op.W), d(op.rows), d(op.cols), d(op.colOff), f.c(op.kind === 'unpack' ? 1 : 0), f.c(op.transpose ? 1 : 0)], binaryen.none);
        }
        case 'gemm': {
          if (op.form === 'NT' && !p.packed.includes(op.b.buf)) {
            // W v with W read row-wise (a transposed parameter's backward): dot products along k
            return m.call(GEMM_NT, [intX(op.M), intX(op.N), intX(op.K), ptr(op.a), intX(op.a.ld), ptr(op.b), intX(op.b.ld), ptr(op.c), intX(op.c.ld), f.c(op.accumulate ? 1 : 0)], binaryen.none);
          }
          if (op.form === 'NT') {
            if (op.b.off.length) throw new Error('invariant: packed weights are read from their start');
            return m.call(GEMM_PANEL, [intX(op.M), intX(op.N), intX(op.K), ptr(op.a), intX(op.a.ld), get(transposedName(op.b.buf)), ptr(op.c), intX(op.c.ld), f.c(op.accumulate ? 1 : 0)], binaryen.none);
          }
          const [sai, sak] = op.form === 'NN' ? [intX(op.a.ld), f.c(1)] : [f.c(1), intX(op.a.ld)];
          if (op.form === 'NN' && panelled.includes(op.b.buf) && !op.b.off.length) {
            // δ W with W packed: through its panels when the product reads all of it (ld = width, K = rows)
            const b = p.fwdBuffers.find((x) => x.name === op.b.buf)!;
            const whole = m.i32.and(m.i32.eq(intX(op.b.ld), intX(op.N)), m.i32.eq(f.imul(intX(op.K), intX(op.N)), intX(b.len)));
            return m.if(whole,
              m.call(GEMM_PANEL, [intX(op.M), intX(op.N), intX(op.K), ptr(op.a), intX(op.a.ld), get(panelsName(op.b.buf)), ptr(op.c), intX(op.c.ld), f.c(op.accumulate ? 1 : 0)], binaryen.none),
              m.call(GEMM, [intX(op.M), intX(op.N), intX(op.K), ptr(op.a), sai, sak, ptr(op.b), intX(op.b.ld), ptr(op.c), intX(op.c.ld), f.c(op.accumulate ? 1 : 0)], binaryen.none));
          }
          return m.call(GEMM, [intX(op.M), intX(op.N), intX(op.K), ptr(op.a), sai, sak, ptr(op.b), intX(op.b.ld), ptr(op.c), intX(op.c.ld), f.c(op.accumulate ? 1 : 0)], binaryen.none);
        }
        case 'phase':
          return phaseCode(env, op.nodes, op.stores, op.read);
        case 'padCarry': {
          const body: X[] = [];
          for (const s of c.cell.prev) {
            const seq = p.stateSeq.get(s.name)!;
            const n4 = () => m.i32.shl(env.dim(s.shape[0]!), f.c(2));
            const rowAt = (t: X) => f.iadd(get(seq), f.imul(f.iadd(f.imul(t, E.batch()), f.get(rowL)), n4()));
            body.push(m.memory.copy(rowAt(f.iadd(E.step(), f.c(1))), rowAt(E.step()), n4()));
          }
          return m.if(get('@lengths'), f.forLoop(rowL, f.c(0), m.i32.lt_s(f.get(rowL), E.batch()), f.iadd(f.get(rowL), f.c(1)), [m.if(dead(), m.block(null, body))], nextLabel()));
        }
        case 'seedIn': {
          // δs = carry + dL/ds_t over the whole [batch][n] block, then zero the padded rows
          const body: X[] = [];
          for (const s of c.cell.prev) {
            const n = () => env.dim(s.shape[0]!);
            const dIn = p.dIn.get(s.name)!, carry = p.carry.get(s.name)!, dS = dStateName(s.name);
            const at = (b: X, k: X) => f.iadd(b, m.i32.shl(k, f.c(2)));
            const dsBase = () => f.iadd(get(dS), m.i32.shl(f.imul(f.imul(E.step(), E.batch()), n()), f.c(2)));
            const lane = (vec: boolean) => {
              const ld = (b: X) => (vec ? m.v128.load(0, 4, at(b, f.get(kL))) : m.v128.load32_zero(0, 4, at(b, f.get(kL))));
              const v = V.add(ld(get(carry)), ld(dsBase()));
              return vec ? m.v128.store(0, 4, at(get(dIn), f.get(kL)), v) : m.v128.store32_lane(0, 4, 0, at(get(dIn), f.get(kL)), v);
            };
            body.push(
              f.set(nL, f.imul(E.batch(), n())),
              f.forLoop(kL, f.c(0), m.i32.le_s(f.iadd(f.get(kL), f.c(4)), f.get(nL)), f.iadd(f.get(kL), f.c(4)), [lane(true)], nextLabel()),
            );
            const lt = nextLabel();
            body.push(m.block(`${lt}_out`, [m.loop(`${lt}_top`, m.block(null, [m.br(`${lt}_out`, m.i32.ge_s(f.get(kL), f.get(nL))), lane(false), f.set(kL, f.iadd(f.get(kL), f.c(1))), m.br(`${lt}_top`)]))]));
            body.push(m.if(get('@lengths'), f.forLoop(rowL, f.c(0), m.i32.lt_s(f.get(rowL), E.batch()), f.iadd(f.get(rowL), f.c(1)), [
              m.if(dead(), m.memory.fill(f.iadd(get(dIn), m.i32.shl(f.imul(f.get(rowL), n()), f.c(2))), f.c(0), m.i32.shl(n(), f.c(2)))),
            ], nextLabel())));
          }
          return m.block(null, body);
        }
        case 'fill': {
          const s = c.cell.prev.find((x) => p.carryNext.get(x.name) === op.buf)!;
          const n = f.imul(E.batch(), env.dim(s.shape[0]!));
          return f.forLoop(kL, f.c(0), m.i32.lt_s(f.get(kL), n), f.iadd(f.get(kL), f.c(1)), [m.f32.store(0, 4, f.iadd(get(op.buf), m.i32.shl(f.get(kL), f.c(2))), m.f32.const(op.value))], nextLabel());
        }
        case 'padPass': {
          const body: X[] = [];
          const rows: X[] = [];
          for (const s of c.cell.prev) {
            const n4 = () => m.i32.shl(env.dim(s.shape[0]!), f.c(2));
            const rowAt = (b: string) => f.iadd(get(b), f.imul(f.get(rowL), n4()));
            rows.push(m.memory.copy(rowAt(p.carryNext.get(s.name)!), rowAt(p.carry.get(s.name)!), n4()));
          }
          body.push(m.if(get('@lengths'), f.forLoop(rowL, f.c(0), m.i32.lt_s(f.get(rowL), E.batch()), f.iadd(f.get(rowL), f.c(1)), [m.if(dead(), m.block(null, rows))], nextLabel())));
          // carry ↔ next: swap the two buffers' addresses
          for (const s of c.cell.prev) {
            const a = local.get(p.carry.get(s.name)!)!, b = local.get(p.carryNext.get(s.name)!)!;
            body.push(f.set(tmp, f.get(a)), f.set(a, f.get(b)), f.set(b, f.get(tmp)));
          }
          return m.block(null, body);
        }
        default:
          return assertNever(op, 'kernel op');
      }
    };
    const prologue = slots.map((s, k) => f.set(local.get(s)!, m.i32.load(4 * k, 4, f.get('frame'))));
    const transposes = name === 'forward'
      ? p.packed.map((pk) => {
        const b = p.fwdBuffers.find((x) => x.name === pk)!;
        const op = pre.find((o) => o.kind === 'pack' && o.packed === pk) as { width: Dim };
        // packed is [cols][width]: cols = Σ rows of its pieces (the buffer length / width)
        const width = env.dim(op.width);
        const cols = m.i32.div_s(intX(b.len), env.dim(op.width));
        return m.call(PANEL, [get(pk), cols, width, get(transposedName(pk))], binaryen.none);
      }).concat(panelled.map((pk) => {
        const b = p.fwdBuffers.find((x) => x.name === pk)!;
        const op = pre.find((o) => o.kind === 'pack' && o.packed === pk) as { width: Dim };
        return m.call(PANEL_KN, [get(pk), m.i32.div_s(intX(b.len), env.dim(op.width)), env.dim(op.width), get(panelsName(pk))], binaryen.none);
      }))
      : [];
    const packs = pre.filter((o) => o.kind === 'pack').map(opCode);
    const others = pre.filter((o) => o.kind !== 'pack').map(opCode);
    const stepCode = step.map(opCode);
    const loop = reverse
      ? (() => {
        const l = nextLabel();
        return m.block(`${l}_out`, [f.set(stepL, m.i32.sub(get('@steps'), f.c(1))), m.loop(`${l}_top`, m.block(null, [m.br(`${l}_out`, m.i32.lt_s(f.get(stepL), f.c(0))), ...stepCode, f.set(stepL, m.i32.sub(f.get(stepL), f.c(1))), m.br(`${l}_top`)]))]);
      })()
      : f.forLoop(stepL, f.c(0), m.i32.lt_s(f.get(stepL), get('@steps')), f.iadd(f.get(stepL), f.c(1)), stepCode, nextLabel());
    const tail: X[] = post.map(opCode);
    // The backward reports where the carries ended up (they swap every step).
    if (name === 'backward') c.cell.prev.forEach((s, k) => tail.push(m.i32.store(4 * (slots.length + k), 4, f.get('frame'), get(p.carry.get(s.name)!))));
    const packing = name === 'forward' ? [m.if(m.i32.eqz(get('@packed')), m.block(null, [...packs, ...transposes]))] : [];
    f.add(name, m.block(null, [...prologue, ...packing, ...others, loop, ...tail]));
    m.addFunctionExport(name, name);
  };
  kernel('forward', fwdSlots, p.fwdPre, p.fwdStep, [], false);
  kernel('backward', bwdSlots, [], p.bwdStep, p.bwdPost, true);
  // binaryen's full -O3 costs seconds per cell in binaryen.js; V8's optimizing tier does the rest.
  if (OPT_PASSES.length) {
    if (!m.validate()) throw new Error(`invariant: the WebAssembly module for ${c.spec.name} does not validate`);
    m.runPasses([...OPT_PASSES]);
  }
  const bytes = m.emitBinary();
  m.dispose();
  // The engine's own validator on the bytes (what runs them): binaryen's validate(), in binaryen.js, took several
  // times longer per cell.
  if (!(globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(bytes)) throw new Error(`invariant: the WebAssembly module for ${c.spec.name} does not validate`);
  return { bytes, forward: { slots: fwdSlots }, backward: { slots: bwdSlots }, extraFwd };
}
