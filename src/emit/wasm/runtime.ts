// The part of every generated module's WebAssembly glue that does not depend on the cell: loading,
// SIMD detection, the linear-memory allocator, tapes and their lifetime. Printed verbatim.

import { HEAP_START } from './panel.js';

export const WASM_RUNTIME = String.raw`
/** The few WebAssembly JS-API members used here (typed locally: the module needs no DOM or Node types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: WasmExports };
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: WasmExports }>;
}
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmExports { readonly memory: WasmMemory; forward(frame: number): void; backward(frame: number): void; same(a: number, b: number, bytes: number): number }

/**
 * The parameters of forward calls, in wasm memory: the params as given, their packed copies and the
 * transposes. One version is current; a call whose params hold the same bits reuses its packing.
 * A version replaced while tapes still use it keeps a copy of its params (saved) and is packed again
 * if one of those tapes is used by backward.
 */
export interface WasmWeights { ptr: number; bytes: number; ptrs: number[]; readonly key: string; readonly lens: readonly number[]; readonly nParams: number; saved?: Float32Array[]; readonly count: { tapes: number } }
/** A tape in wasm memory. When memory is needed it is evicted: what the forward needs to run again is copied out (saved). */
export interface WasmTapeBlock { readonly cell: WasmTapeCell; ptr: number; bytes: number; ptrs: number[]; readonly lens: readonly number[]; readonly keep: readonly number[]; readonly lengthsOffset: number; readonly weights: WasmWeights; consumed: boolean; hasLengths: boolean; saved?: Float32Array[]; savedLengths?: Int32Array }
/** What the garbage-collection hook holds: the block while it is resident (not its saved copies). */
interface WasmTapeCell { block: WasmTapeBlock | undefined; readonly count: { tapes: number } }
export interface WasmTape { readonly wasm: WasmTapeBlock; readonly sizes: unknown; readonly steps: number; readonly batch: number; readonly lengths: Int32Array | undefined }
export interface WasmForwardResult<S> { readonly states: S; readonly tape: WasmTape }
interface WasmWork { ptr: number; bytes: number; frame: number; slots: number; readonly ptrs: number[] }

/** i8x16.popcnt of a constant: validates only where SIMD128 is supported. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
/** Bytes of tapes not yet used by backward kept in wasm memory before the oldest are evicted. */
const TAPE_BUDGET = 32 * 2 ** 20;

/** The module's bytes: Node's native decoder where there is one (the loop below, run once per module, is cold code:
 * ~80 ms over the 14 modules of a cold build). */
function fromBase64(s: string): Uint8Array {
  const B = (globalThis as unknown as { Buffer?: { from(text: string, encoding: 'base64'): Uint8Array } }).Buffer;
  if (B !== undefined && typeof B.from === 'function') return new Uint8Array(B.from(s, 'base64'));
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const map = new Uint8Array(128);
  for (let i = 0; i < 64; i++) map[A.charCodeAt(i)] = i;
  const n = s.length - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
  const out = new Uint8Array((n * 3) >> 2);
  for (let i = 0, o = 0; i < n; i += 4) {
    const v = (map[s.charCodeAt(i)]! << 18) | (map[s.charCodeAt(i + 1)]! << 12) | (map[s.charCodeAt(i + 2)]! << 6) | map[s.charCodeAt(i + 3)]!;
    out[o++] = v >> 16;
    if (o < out.length) out[o++] = (v >> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

/** Bytes below this belong to the kernels (the matrix products' scratch area). */
const HEAP_START = ${HEAP_START};
const align16 = (n: number): number => (n + 15) & ~15;

/** One instance, one linear memory: a first-fit allocator of 16-byte-aligned blocks, grown on demand. */
class WasmKernels {
  private k: WasmExports | null | undefined;
  private free: [number, number][] = [];
  private end = HEAP_START;
  /** Resident tapes not yet used by backward (oldest first), and those backward used. */
  private readonly live = new Set<WasmTapeBlock>();
  private readonly used = new Set<WasmTapeBlock>();
  private liveBytes = 0;
  private budget = TAPE_BUDGET;
  private readonly registry = new FinalizationRegistry<WasmTapeCell>((c) => this.drop(c));

  constructor(private readonly base64: string) {}

  private api(): WasmApi | undefined {
    const W = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    return W !== undefined && W.validate(SIMD_PROBE) ? W : undefined;
  }

  private attach(e: WasmExports): void {
    this.k = e;
    this.end = HEAP_START;
    this.free = [[HEAP_START, e.memory.buffer.byteLength - HEAP_START]];
  }

  setBudget(bytes: number): void {
    this.budget = bytes;
  }

  backend(): 'simd' | 'f32' | 'pending' {
    return this.k === undefined ? 'pending' : this.k === null ? 'f32' : 'simd';
  }

  async ready(): Promise<boolean> {
    if (this.k !== undefined) return this.k !== null;
    const W = this.api();
    if (!W) return (this.k = null) !== null;
    const inst = await W.instantiate(await W.compile(fromBase64(this.base64)), {});
    if (this.k === undefined) this.attach(inst.exports);
    return true;
  }

  /** The instance, compiled synchronously on first use; null where SIMD is missing (use the f32 kernels). */
  get(): this | null {
    if (this.k === undefined) {
      const W = this.api();
      if (!W) this.k = null;
      else this.attach(new W.Instance(new W.Module(fromBase64(this.base64)), {}).exports);
    }
    return this.k === null ? null : this;
  }

  private alloc(bytes: number): number {
    const need = align16(Math.max(bytes, 16));
    for (let i = 0; i < this.free.length; i++) {
      const [at, size] = this.free[i]!;
      if (size < need) continue;
      if (size === need) this.free.splice(i, 1);
      else this.free[i] = [at + need, size - need];
      return at;
    }
    const mem = this.k!.memory;
    const top = mem.buffer.byteLength;
    const last = this.free.at(-1);
    const tail = last && last[0] + last[1] === top ? last[1] : 0;
    // grow by at least a quarter of the memory: growing may copy it, so few large steps
    mem.grow(Math.max(Math.ceil((need - tail) / 65536), top >> 18, 16));
    this.dealloc(top, mem.buffer.byteLength - top);
    return this.alloc(bytes);
  }

  private dealloc(at: number, bytes: number): void {
    const size = align16(Math.max(bytes, 16));
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < at) i++;
    this.free.splice(i, 0, [at, size]);
    const next = this.free[i + 1];
    if (next && at + size === next[0]) { this.free[i] = [at, size + next[1]]; this.free.splice(i + 1, 1); }
    const prev = this.free[i - 1];
    if (prev && prev[0] + prev[1] === at) { prev[1] += this.free[i]![1]; this.free.splice(i, 1); }
  }

  /** A tape object was garbage-collected: its memory is free. */
  private drop(c: WasmTapeCell): void {
    const b = c.block;
    if (b !== undefined && b.ptr !== 0) this.unlink(b);
    c.block = undefined;
    c.count.tapes--;
  }

  private unlink(b: WasmTapeBlock): void {
    this.dealloc(b.ptr, b.bytes);
    if (this.live.delete(b)) this.liveBytes -= b.bytes;
    this.used.delete(b);
    b.ptr = 0;
    b.cell.block = undefined;
  }

  /** Copies out what the forward needs to run again (inputs, initial states, lengths) and frees the block. */
  private evict(b: WasmTapeBlock): void {
    const mem = this.k!.memory.buffer;
    b.saved = b.keep.map((n, i) => new Float32Array(mem, b.ptrs[i]!, n).slice());
    if (b.hasLengths) b.savedLengths = new Int32Array(mem, b.ptr + b.lengthsOffset, (b.bytes - b.lengthsOffset) >> 2).slice();
    this.unlink(b);
  }

  private block(lens: readonly number[], extraBytes: number): { ptr: number; bytes: number; ptrs: number[] } {
    const { offsets, bytes } = this.offsets(lens, extraBytes);
    const ptr = this.alloc(bytes);
    return { ptr, bytes, ptrs: offsets.map((o) => ptr + o) };
  }

  private offsets(lens: readonly number[], extraBytes: number): { offsets: number[]; bytes: number } {
    const offsets: number[] = [];
    let at = 0;
    for (const n of lens) { offsets.push(at); at += align16(4 * n); }
    return { offsets, bytes: at + align16(extraBytes) };
  }

  private cur: WasmWeights | undefined;
  private stage: { ptr: number; bytes: number; ptrs: number[]; key: string } | undefined;

  /**
   * The weights for a forward call (lens: floats of each params slot, then packed slots): the
   * current version when the params hold the same bits (fresh = false: already packed), else a new
   * current version holding a copy of them (fresh = true: the forward packs them).
   */
  weights(lens: readonly number[], params: readonly Float32Array[]): { w: WasmWeights; fresh: boolean } {
    const key = lens.join(',');
    const cur = this.cur;
    if (cur !== undefined && cur.key === key) {
      let st = this.stage;
      if (st === undefined || st.key !== key) {
        if (st !== undefined) this.dealloc(st.ptr, st.bytes);
        st = this.stage = { ...this.block(lens, 0), key };
        this.zero(st.ptr, st.bytes);
      }
      params.forEach((a, i) => this.put(st.ptrs[i]!, a));
      const paramBytes = (cur.ptrs[params.length] ?? cur.ptr + cur.bytes) - cur.ptr;
      if (this.k!.same(st.ptr, cur.ptr, paramBytes) === 1) return { w: cur, fresh: false };
      // new params: the staged copy becomes the current version, the old one is retired
      this.stage = undefined;
      this.retire(cur);
      const w: WasmWeights = { ptr: st.ptr, bytes: st.bytes, ptrs: st.ptrs, key, lens, nParams: params.length, count: { tapes: 0 } };
      this.cur = w;
      return { w, fresh: true };
    }
    if (cur !== undefined) this.retire(cur);
    const b = this.block(lens, 0);
    this.zero(b.ptr, b.bytes);
    const w: WasmWeights = { ...b, key, lens, nParams: params.length, count: { tapes: 0 } };
    params.forEach((a, i) => this.put(w.ptrs[i]!, a));
    this.cur = w;
    return { w, fresh: true };
  }

  /** A version stops being current: tapes still using it keep a copy of its params; its memory is freed. */
  private retire(w: WasmWeights): void {
    if (w.count.tapes > 0) w.saved = w.lens.slice(0, w.nParams).map((n, i) => this.get32(w.ptrs[i]!, n));
    this.dealloc(w.ptr, w.bytes);
    w.ptr = 0;
    if (this.cur === w) this.cur = undefined;
  }

  /** Makes a retired version resident again (pack: runs the forward's packing); undone by doneWeights. */
  useWeights(w: WasmWeights, pack: () => void): void {
    if (w.ptr !== 0) return;
    if (!w.saved) throw new Error('invariant: the weights of a wasm tape were released');
    const b = this.block(w.lens, 0);
    this.zero(b.ptr, b.bytes);
    Object.assign(w, b);
    w.saved.forEach((a, i) => this.put(w.ptrs[i]!, a));
    pack();
  }

  doneWeights(w: WasmWeights): void {
    if (w !== this.cur && w.ptr !== 0) { this.dealloc(w.ptr, w.bytes); w.ptr = 0; }
  }

  /**
   * A tape block for a forward call (lens: floats per slot; keep: floats of each slot the forward
   * needs to run again). Tapes already used by backward are evicted first, then the oldest others
   * while the tapes not yet used by backward exceed the budget.
   */
  tape(lens: readonly number[], keep: readonly number[], batch: number, weights: WasmWeights): WasmTapeBlock {
    for (const old of this.used) this.evict(old);
    const { offsets, bytes } = this.offsets(lens, 4 * batch);
    for (const old of this.live) {
      if (this.liveBytes + bytes <= this.budget) break;
      this.evict(old);
    }
    const ptr = this.alloc(bytes);
    const cell: WasmTapeCell = { block: undefined, count: weights.count };
    const b: WasmTapeBlock = { cell, ptr, bytes, ptrs: offsets.map((o) => ptr + o), lens, keep, lengthsOffset: bytes - align16(4 * batch), weights, consumed: false, hasLengths: false };
    cell.block = b;
    weights.count.tapes++;
    this.live.add(b);
    this.liveBytes += bytes;
    return b;
  }

  /** Brings an evicted tape back (rerun: the forward again, over the restored inputs and initial states). */
  restore(b: WasmTapeBlock, rerun: () => void): void {
    if (b.ptr !== 0) return;
    if (!b.saved) throw new Error('invariant: a wasm tape was released');
    b.ptr = this.alloc(b.bytes);
    const offsets = this.offsets(b.lens, 0).offsets;
    b.ptrs = offsets.map((o) => b.ptr + o);
    b.saved.forEach((a, i) => this.put(b.ptrs[i]!, a));
    if (b.savedLengths) this.putI32(b.ptr + b.lengthsOffset, b.savedLengths);
    b.saved = b.savedLengths = undefined;
    b.cell.block = b;
    if (b.consumed) this.used.add(b);
    else { this.live.add(b); this.liveBytes += b.bytes; }
    rerun();
  }

  /** backward used the tape: its memory is the first to be reused (it is saved first, so a second backward still works). */
  consume(b: WasmTapeBlock): void {
    b.consumed = true;
    if (b.ptr !== 0 && this.live.delete(b)) { this.liveBytes -= b.bytes; this.used.add(b); }
  }

  /** Registers the tape object so its block is freed when it is garbage-collected. */
  own(tape: object, b: WasmTapeBlock): void {
    this.registry.register(tape, b.cell);
  }

  zero(ptr: number, bytes: number): void {
    new Uint8Array(this.k!.memory.buffer, ptr, bytes).fill(0);
  }

  /** A zeroed per-call block: the frame (slots + results, i32), then the work buffers. */
  work(slots: number, lens: readonly number[], results: number): WasmWork {
    const frameBytes = align16(4 * (slots + results));
    const { offsets, bytes } = this.offsets(lens, 0);
    const ptr = this.alloc(frameBytes + bytes);
    new Uint8Array(this.k!.memory.buffer, ptr, frameBytes + bytes).fill(0);
    return { ptr, bytes: frameBytes + bytes, frame: ptr, slots, ptrs: offsets.map((o) => ptr + frameBytes + o) };
  }

  release(w: WasmWork): void {
    this.dealloc(w.ptr, w.bytes);
  }

  frame(w: WasmWork, values: readonly number[]): void {
    new Int32Array(this.k!.memory.buffer, w.frame, values.length).set(values);
  }

  /** Result slot k (written by the kernel after the frame's slots). */
  result(w: WasmWork, k: number): number {
    return new Int32Array(this.k!.memory.buffer, w.frame, w.slots + k + 1)[w.slots + k]!;
  }

  put(ptr: number, a: Float32Array): void {
    new Float32Array(this.k!.memory.buffer, ptr, a.length).set(a);
  }

  putI32(ptr: number, a: Int32Array): number {
    new Int32Array(this.k!.memory.buffer, ptr, a.length).set(a);
    return ptr;
  }

  /** A copy of n floats at ptr. */
  get32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.k!.memory.buffer, ptr, n).slice();
  }

  call(fn: 'forward' | 'backward', w: WasmWork): void {
    this.k![fn](w.frame);
  }
}
`;
