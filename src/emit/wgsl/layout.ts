// Packed buffer layouts as WGSL override constants, and the reads and writes of one element in them.

import { InvariantError } from '../../spec/diagnostic.js';
import type { Dim, Shape } from '../../ir/shape.js';
import { BATCH_OVERRIDE, sizeOverride } from '../../runtime/webgpu/types.js';
import { dimWgsl } from './printer.js';

export const size = (name: string): string => sizeOverride(name);
export const dim = (d: Dim): string => dimWgsl(d, size);
const B = BATCH_OVERRIDE;

/**
 * The identifiers of one shader: fixed names, value names (`let`s) and module-scope names derived from them, kept
 * apart. Generated names end in '_' and never meet a spec name (src/emit/names.ts); `fresh` keeps them apart from
 * each other, so a parameter named `size` times an input named `hidden` cannot take the override of size `hidden`.
 */
export class ModuleNames {
  private readonly names = new Map<string, string>();

  /** Claims a fixed name; two claims of one name are a bug. */
  add(name: string, what: string): string {
    const prior = this.names.get(name);
    if (prior !== undefined) throw new InvariantError(`WGSL name clash: '${name}' would name both ${prior} and ${what}`);
    this.names.set(name, what);
    return name;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  all(): string[] {
    return [...this.names.keys()];
  }

  /** A generated name from `base` not taken yet: `base_`, `base2_`, ... */
  fresh(base: string, what: string): string {
    const b = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '') || 'v';
    let n = `${b}_`;
    for (let k = 2; this.names.has(n); k++) n = `${b}${k}_`;
    return this.add(n, what);
  }
}

/**
 * A per-step buffer: for every step t a block of slots, each [batch][n]. Element (t, slot, b, j) is at
 * t * stride + OFFSET_slot + b * n + j.
 */
export class StepLayout {
  readonly stride: string;
  private readonly offsets = new Map<string, { name: string; dim: Dim }>();
  readonly decls: string[] = [];

  constructor(
    readonly buffer: string,
    prefix: string,
    slots: readonly { name: string; dim: Dim }[],
    comment: string,
    names: ModuleNames,
  ) {
    this.stride = names.fresh(`${prefix.toLowerCase()}_stride`, `the step stride of ${buffer}`);
    this.decls.push(`// ${buffer}: ${comment}; per step: ${slots.length ? slots.map((s) => `${s.name} [batch][${dim(s.dim)}]`).join(', ') : 'nothing'}`);
    let prev = '0u';
    for (const s of slots) {
      const name = names.fresh(`${prefix}_${s.name}`, `the offset of ${s.name} in ${buffer}`);
      this.decls.push(`override ${name}: u32 = ${prev};`);
      this.offsets.set(s.name, { name, dim: s.dim });
      prev = `${name} + ${B} * ${dim(s.dim)}`;
    }
    this.decls.push(`override ${this.stride}: u32 = ${prev};`);
  }

  has(slot: string): boolean {
    return this.offsets.has(slot);
  }

  /** The index of element (t, b, j) of a slot; `base` is added in front (another region of the same buffer). */
  index(slot: string, t: string, b: string, j: string, base?: string): string {
    const o = this.offsets.get(slot);
    if (!o) throw new InvariantError(`no slot '${slot}' in ${this.buffer}`);
    const tt = /^[A-Za-z0-9_]+$/.test(t) ? t : `(${t})`;
    return `${base ? `${base} + ` : ''}${tt} * ${this.stride} + ${o.name} + ${b} * ${dim(o.dim)} + ${j}`;
  }

  at(slot: string, t: string, b: string, j: string, opts: { base?: string; buffer?: string } = {}): string {
    return `${opts.buffer ?? this.buffer}[${this.index(slot, t, b, j, opts.base)}]`;
  }
}

/** The parameter buffer: each parameter row-major after the previous one. */
export class ParamLayout {
  readonly total: string;
  private readonly offsets = new Map<string, { name: string; shape: Shape }>();
  readonly decls: string[] = [];

  constructor(
    readonly buffer: string,
    params: readonly { name: string; shape: Shape }[],
    names: ModuleNames,
  ) {
    this.total = names.fresh('p_total', 'the parameter count');
    this.decls.push(`// ${buffer}: parameters, row-major, one after another: ${params.map((p) => p.name).join(', ')}`);
    let prev = '0u';
    for (const p of params) {
      const name = names.fresh(`P_${p.name}`, `the offset of ${p.name}`);
      this.decls.push(`override ${name}: u32 = ${prev};`);
      this.offsets.set(p.name, { name, shape: p.shape });
      prev = `${name} + ${p.shape.map(dim).join(' * ') || '1u'}`; // a scalar parameter takes one element
    }
    this.decls.push(`override ${this.total}: u32 = ${prev};`);
  }

  offset(param: string): string {
    const o = this.offsets.get(param);
    if (!o) throw new InvariantError(`no parameter '${param}'`);
    return o.name;
  }

  /** Element j of a vector parameter, or (row, col) of a matrix. */
  vector(param: string, j: string, buffer = this.buffer): string {
    return `${buffer}[${this.offset(param)} + ${j}]`;
  }

  matrix(param: string, row: string, col: string): string {
    const o = this.offsets.get(param)!;
    return `${this.buffer}[${o.name} + ${row} * ${dim(o.shape[1]!)} + ${col}]`;
  }
}
