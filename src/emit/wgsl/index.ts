// The WGSL target: a cell's forward and backward kernels, and the TypeScript module that runs them on WebGPU.

import type { CompiledCell } from '../../derive/compile.js';
import type { CellKernels } from '../../runtime/webgpu/types.js';
import { buildKernels } from './kernels.js';
import { renderModule } from './templates.js';
import { tsBlockComment, tsKey, tsLineComment, tsString, tsTemplate } from '../../text/escape.js';

export { buildKernels, WORKGROUP_SIZE } from './kernels.js';
export { WgslPrinter } from './printer.js';

export interface WgslEmitOptions {
  /** How generated/wgsl/<cell>.ts imports the runtime. */
  readonly runtimeImport?: string;
  /** The command named in the generated header. */
  readonly command?: string;
}

export interface WgslOutput {
  /** WGSL sources by name: 'forward' and 'backward'. */
  readonly shaders: Record<string, string>;
  /** TypeScript source of generated/wgsl/<cell>.ts: the shaders, their layout and a typed runner factory. */
  readonly module: string;
  readonly kernels: CellKernels;
}

/** Where a module written to <dir>/<dir>/ finds the runtime in cellgen's sources (tests); the build
 * passes RUNTIME_IMPORT instead, the copy of the runtime in its output folder (build/runtime.ts). */
export const DEFAULT_RUNTIME_IMPORT = '../../src/runtime/webgpu/index.js';

/** Text placed verbatim by `tsLiteral`. */
class Raw {
  constructor(readonly text: string) {}
}

const quote = tsString;
const key = tsKey;

/** A TypeScript literal of plain data: one line where it fits in 110 columns, else one entry per line. */
function tsLiteral(v: unknown, indent = ''): string {
  const one = (x: unknown): string => {
    if (x instanceof Raw) return x.text;
    if (Array.isArray(x)) return `[${x.map(one).join(', ')}]`;
    if (x !== null && typeof x === 'object') {
      const es = Object.entries(x);
      return es.length ? `{ ${es.map(([k, y]) => `${key(k)}: ${one(y)}`).join(', ')} }` : '{}';
    }
    return typeof x === 'string' ? quote(x) : JSON.stringify(x);
  };
  const flat = one(v);
  if (flat.length + indent.length <= 110 || v instanceof Raw || v === null || typeof v !== 'object') return flat;
  const inner = `${indent}  `;
  if (Array.isArray(v)) return `[\n${v.map((x) => `${inner}${tsLiteral(x, inner)}`).join(',\n')},\n${indent}]`;
  const es = Object.entries(v);
  return `{\n${es.map(([k, y]) => `${inner}${key(k)}: ${tsLiteral(y, inner)}`).join(',\n')},\n${indent}}`;
}

const templateLiteral = tsTemplate;
const union = (names: readonly string[]): string => (names.length ? names.map(tsString).join(' | ') : 'never');

export function emitWgsl(c: CompiledCell, opts: WgslEmitOptions = {}): WgslOutput {
  const { shaders, kernels } = buildKernels(c);
  const literal = tsLiteral({
    ...kernels,
    forward: { ...kernels.forward, shader: new Raw('forwardWgsl') },
    backward: { ...kernels.backward, shader: new Raw('backwardWgsl') },
  });
  const module = renderModule({
    title: tsLineComment(c.spec.title),
    name: tsBlockComment(c.spec.name),
    file: tsLineComment(c.spec.file),
    command: tsLineComment(opts.command ?? 'cellgen'),
    runtimeImport: opts.runtimeImport ?? DEFAULT_RUNTIME_IMPORT,
    sizes: c.spec.sizes.map((s) => ({ name: s.name, symbol: s.symbol })),
    paramNames: union(c.cell.params.map((p) => p.name)),
    inputNames: union(c.cell.inputs.map((x) => x.name)),
    stateNames: union(c.cell.prev.map((s) => s.name)),
    forward: templateLiteral(shaders.forward),
    backward: templateLiteral(shaders.backward),
    kernels: literal,
  });
  return { shaders, module, kernels };
}
