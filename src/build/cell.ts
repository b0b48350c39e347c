// One cell through the build: derive, emit every target, verify numerically, document; each part
// cached by the content of the spec (see cache.ts). The compiler (work.ts: mathjs, the emitters,
// the checks) is loaded only when some part is not cached, so a cached build loads none of it.

import type { CompiledCell } from '../derive/compile.js';
import type { CellDoc, VanishingSeries } from '../docs/model.js';
import type { KernelModule } from '../check/kernels.js';
import { type BuildCache, cacheKey } from './cache.js';
import { trace } from '../text/trace.js';

export const COMMAND = 'cellgen build';

/** Limits the numeric checks must meet for a build to succeed. */
export const LIMITS = { gradCheck: 1e-6, kernelF64: 1e-9, kernelF32: 1e-3 } as const;

export interface Emitted {
  /** Output files of the cell, by path relative to the output folder. */
  readonly files: [string, string][];
  readonly params: number;
  readonly paramsFormula: string;
  readonly forwardFlops: number;
  readonly backwardFlops: number;
  /** Bytes the forward keeps per step and batch row at the example sizes. */
  readonly savedBytes: number;
}

export interface Verified {
  readonly gradCheck: number;
  readonly kernelF64: number;
  readonly kernelF32: number;
}

export interface Documented {
  readonly doc: CellDoc;
  readonly vanishing?: VanishingSeries;
  /** The doc's formulas rendered by KaTeX (docs/prerender.ts), for the site's renderer memo. */
  readonly tex?: [string, string][];
}

export type PartKind = 'emit' | 'verify' | 'doc';

/** A cell's spec, compiled and its kernel module loaded only when some part is not cached. */
export class CellJob {
  readonly name: string;
  readonly key: string;
  private compiled?: CompiledCell;
  private module?: KernelModule;
  private emittedPart?: Emitted;
  private readonly done = new Map<PartKind, unknown>();
  /** The verify or doc part is to be computed too (they import the emitted kernels). */
  private checks = false;
  /** True when every part asked for came from the cache. */
  cached = true;

  constructor(
    readonly file: string,
    readonly text: string,
    readonly cache: BuildCache | undefined,
  ) {
    this.name = file.replace(/^.*\//, '').replace(/\.cell\.yaml$/, '');
    this.key = cacheKey(file, text);
  }

  async cell(): Promise<CompiledCell> {
    return (this.compiled ??= (await work()).compileCell(this.text, this.file));
  }

  private async part<T>(kind: PartKind, make: () => Promise<T>): Promise<T> {
    if (this.done.has(kind)) return this.done.get(kind) as T;
    const hit = this.cache?.get<T>(kind, this.key);
    if (hit !== undefined) {
      this.done.set(kind, hit);
      return hit;
    }
    this.cached = false;
    const v = await make();
    this.fill(kind, v);
    return v;
  }

  /** The parts of `kinds` that are neither computed nor in the cache. */
  missing(kinds: readonly PartKind[]): PartKind[] {
    const out = kinds.filter((k) => {
      if (this.done.has(k)) return false;
      const hit = this.cache?.get(k, this.key);
      if (hit !== undefined) this.done.set(k, hit);
      return hit === undefined;
    });
    this.checks = out.some((k) => k !== 'emit');
    return out;
  }

  /** A part computed elsewhere (a worker thread, see pool.ts): kept and cached. */
  fill(kind: PartKind, value: unknown): void {
    this.done.set(kind, value);
    this.cache?.set(kind, this.key, value);
  }

  /** Marks the cell as built now (not from the cache), for the report. */
  built(): void {
    this.cached = false;
  }

  /** Whether the part is at hand (computed, filled in or read from the cache). */
  has(kind: PartKind): boolean {
    return this.done.has(kind);
  }

  /** Computes (or reads from the cache) the given parts. */
  async compute(parts: readonly PartKind[]): Promise<Partial<Record<PartKind, unknown>>> {
    const out: Partial<Record<PartKind, unknown>> = {};
    this.checks = parts.some((k) => k !== 'emit');
    for (const k of parts) {
      out[k] = k === 'emit' ? await this.emitted() : k === 'verify' ? await this.verified() : await this.documented();
      trace(`${this.name}: ${k}`);
    }
    return out;
  }

  async emitted(): Promise<Emitted> {
    return (this.emittedPart ??= await this.part('emit', async () => (await work()).emitCell(await this.cell(), COMMAND, this.checks)));
  }

  private async kernels(): Promise<KernelModule> {
    const source = (await this.emitted()).files.find(([p]) => p === `ts/${this.name}.ts`)![1];
    return (this.module ??= await (await work()).importTs(source));
  }

  async verified(): Promise<Verified> {
    return this.part('verify', async () => (await work()).verifyCell(await this.cell(), await this.kernels(), LIMITS));
  }

  async documented(): Promise<Documented> {
    return this.part('doc', async () => {
      // One cell's doc at a time, even when the build asks for several at once (build/render.ts): only the wait for
      // the render worker's formulas overlaps.
      const d = await oneAtATime(async () => (await work()).documentCell(await this.cell(), await this.kernels(), (await this.emitted()).savedBytes, (await this.emitted()).files));
      documentWatcher?.(this, d);
      const [{ prerenderCell }, { addTexMemo }] = await Promise.all([import('../docs/prerender.js'), import('../docs/tex.js')]);
      // The formulas of this spec file's last doc part: an edited spec keeps most of them, and they need no rendering.
      const last = cacheKey('formulas of', this.file);
      addTexMemo(this.cache?.get<[string, string][]>('tex', last) ?? []);
      const tex = await prerenderCell(d.doc);
      this.cache?.set('tex', last, tex);
      return { ...d, tex };
    });
  }
}

let loaded: Promise<typeof import('./work.js')> | undefined;
/** The compiler (mathjs, the emitters, binaryen, the checks), loaded on first use. */
const work = () => (loaded ??= import('./work.js').then((w) => (trace('compiler loaded'), w)));

let documentWatcher: ((job: CellJob, d: Documented) => void) | undefined;
/** Calls `f` with each doc part computed in this thread, before its formulas are rendered (build/render.ts). */
export function watchDocuments(f: ((job: CellJob, d: Documented) => void) | undefined): void {
  documentWatcher = f;
}

let turn: Promise<unknown> = Promise.resolve();
/** Runs `f` after every earlier call's `f` has finished. */
function oneAtATime<T>(f: () => Promise<T>): Promise<T> {
  const r = turn.then(f);
  turn = r.catch(() => {});
  return r;
}
