// Identifiers in generated code: spec names and generated names live in two namespaces that cannot meet.
//
// The rule, for every printer (ts, wgsl, wasm, ...):
//
//   1. A name from the spec (size, parameter, input, state, intermediate, activation, derivation name built from
//      them such as dW_z) is written as `specIdent(target, name)`. Spec names match IDENT below: letters and digits
//      joined by single underscores, never starting or ending with `_`. specIdent returns the name itself
//      (`W_z` stays `W_z`), or `_name` when the name is a keyword, a reserved word or a built-in of the target
//      (`for` -> `_for` in TypeScript, `exp` -> `_exp` in WGSL).
//   2. Every identifier the printer invents (loop counters, buffers, helpers, sizes objects, `batch`, `check`,
//      `gemmNT`, WGSL overrides) ends in `_`: `batch_`, `check_`, `hSeq_`. No spec name and no escaped spec name
//      ends in `_`, so no spec can collide with them. Use `GeneratedNames.fresh(base)` to keep generated names
//      distinct from each other.
//   3. Where a spec name is a property key (params.W_z, states.h, paramShapes keys) it stays the user's spelling:
//      write it with `tsKey` (src/text/escape.ts), and read optional keys with an own-property check, since
//      `constructor` or `toString` are valid names and exist on every object's prototype.
//
// Module-scope generated names derived from a spec name put a role tag first, `<tag>_<name>_` (e.g. `size_hidden_`,
// `P_W_z_`): tags contain no `_`, so the first `_` splits tag from name and two different (tag, name) pairs never
// give the same identifier.

/** What a spec name may look like (checked by the reader): letters and digits joined by single underscores. */
export const IDENT = /^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$/;

export type Target = 'ts' | 'wgsl';

const words = (s: string): string[] => s.trim().split(/\s+/);

/** JavaScript/TypeScript keywords, strict-mode and contextual words, and the globals generated modules reference. */
export const TS_RESERVED: ReadonlySet<string> = new Set(words(`
  break case catch class const continue debugger default delete do else enum export extends false finally for
  function if import in instanceof new null return super switch this throw true try typeof var void while with
  implements interface let package private protected public static yield await async of get set
  abstract any as asserts accessor bigint boolean constructor declare from global infer is keyof module namespace
  never number object out override readonly require satisfies string symbol type undefined unique unknown using
  arguments eval NaN Infinity globalThis
  Math Object Array Number String Boolean Symbol Error TypeError RangeError JSON Reflect Proxy Promise
  Float32Array Float64Array Int32Array Uint32Array Int8Array Uint8Array Int16Array Uint16Array ArrayBuffer DataView
  WebAssembly console process
`));

/** WGSL keywords, reserved words, predeclared types and enumerants, and built-in functions. */
export const WGSL_RESERVED: ReadonlySet<string> = new Set(words(`
  alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if
  let loop override requires return struct switch true var while
  NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await become binding_array cast
  catch class co_await co_return co_yield coherent column_major common compile compile_fragment concept const_cast
  consteval constexpr constinit crate debugger decltype delete demote demote_to_helper do dynamic_cast enum explicit
  export extends extern external fallthrough filter final finally friend from fxgroup get goto groupshared highp impl
  implements import inline instanceof interface layout lowp macro macro_rules match mediump meta mod module move mut
  mutable namespace new nil noexcept noinline nointerpolation noperspective null nullptr of operator package
  packoffset partition pass patch pixelfragment precise precision premerge priv protected pub public readonly ref
  regardless register reinterpret_cast require resource restrict self set shared sizeof smooth snorm static
  static_assert static_cast std subroutine super target template this thread_local throw trait try type typedef
  typeid typename typeof union unless unorm unsafe unsized use using varying virtual volatile wgsl where with
  writeonly yield
  bool f16 f32 i32 u32 array atomic ptr sampler sampler_comparison read write read_write function private workgroup
  uniform storage handle
  abs acos acosh all any arrayLength asin asinh atan atan2 atanh bitcast ceil clamp cos cosh countLeadingZeros
  countOneBits countTrailingZeros cross degrees determinant distance dot exp exp2 extractBits faceForward
  firstLeadingBit firstTrailingBit floor fma fract frexp fwidth fwidthCoarse fwidthFine insertBits inverseSqrt ldexp
  length log log2 max min mix modf normalize pow quantizeToF16 radians reflect refract reverseBits round saturate
  select sign sin sinh smoothstep sqrt step storageBarrier tan tanh textureBarrier transpose trunc workgroupBarrier
  workgroupUniformLoad
`));

/** Families of WGSL predeclared names: vecN/matCxR with suffixes, textures, atomics, packing, derivatives, formats. */
const WGSL_FAMILIES = /^(?:vec[234][ifuh]?|mat[234]x[234][fh]?|texture[A-Za-z0-9_]*|atomic[A-Za-z0-9_]*|pack[A-Za-z0-9_]*|unpack[A-Za-z0-9_]*|subgroup[A-Za-z0-9_]*|quad[A-Za-z0-9_]*|dpd[xy][A-Za-z]*|dot4[A-Za-z0-9]*|(?:rgba|bgra|rg|r)(?:8|16|32)[a-z0-9]*)$/;

/** True when `name` cannot be used as it is as an identifier of `target` (it is escaped by specIdent). */
export function isReserved(target: Target, name: string): boolean {
  return target === 'ts' ? TS_RESERVED.has(name) : WGSL_RESERVED.has(name) || WGSL_FAMILIES.test(name);
}

/** The identifier of a spec name in `target`: the name itself, or `_name` where the target reserves the name. */
export function specIdent(target: Target, name: string): string {
  if (!IDENT.test(name)) throw new Error(`internal error: '${name}' is not a spec name (the reader admits letters and digits joined by single underscores)`);
  return isReserved(target, name) ? `_${name}` : name;
}

/** Allocates generated identifiers: each ends in `_`, and each base gets a distinct one (`o_`, `o2_`, ...). */
export class GeneratedNames {
  private readonly taken = new Set<string>();
  /** Per stem, the next counter to try, so n names from one stem cost O(n), not O(n²). */
  private readonly next = new Map<string, number>();

  constructor(fixed: Iterable<string> = []) {
    for (const f of fixed) this.taken.add(GeneratedNames.check(f));
  }

  private static check(n: string): string {
    if (!/^[A-Za-z][A-Za-z0-9_]*_$/.test(n) || n.includes('__')) throw new Error(`internal error: generated name '${n}' must end in a single '_'`);
    return n;
  }

  /** A fresh generated name from `base` (letters, digits, single underscores, not ending in `_`). */
  fresh(base: string): string {
    const b = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '') || 't';
    const stem = /^[A-Za-z]/.test(b) ? b : `v${b}`;
    let n = `${stem}_`;
    let k = this.next.get(stem) ?? 2;
    if (this.taken.has(n)) for (; this.taken.has((n = `${stem}${k}_`)); k++);
    this.next.set(stem, k);
    this.taken.add(n);
    return n;
  }

  /** Claims a fixed generated name (e.g. a helper function); throws if it is taken already. */
  claim(name: string): string {
    GeneratedNames.check(name);
    if (this.taken.has(name)) throw new Error(`internal error: generated name '${name}' is used twice`);
    this.taken.add(name);
    return name;
  }
}
