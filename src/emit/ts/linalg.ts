// Renders the plain-TypeScript GEMM kernels (templates/ts/linalg.ts.hbs) for one typed-array type.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { compileTemplate } from '../../text/templates.js';

export type LinalgArray = 'Float32Array' | 'Float64Array';

const TEMPLATE = join('templates', 'ts', 'linalg.ts.hbs');

// Walk up from this module: the same code runs from src/ (tsx) and from dist/src/ (built).
function findTemplate(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, TEMPLATE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`invariant: ${TEMPLATE} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let compiled: HandlebarsTemplateDelegate<{ arr: LinalgArray; suffix: string }> | undefined;

/** gemmNT/gemmNN/gemmTN{suffix} over `arr`; distinct suffixes let several renderings share one module. */
export function renderLinalg(arr: LinalgArray, suffix: string): string {
  if (!/^[A-Za-z0-9_$]*$/.test(suffix)) throw new Error(`renderLinalg: suffix '${suffix}' is not an identifier part`);
  compiled ??= compileTemplate(Handlebars, readFileSync(findTemplate(), 'utf8'), { noEscape: true, strict: true });
  return compiled({ arr, suffix });
}
