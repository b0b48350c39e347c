// The build cache: per-cell results keyed by the content of the spec, the templates and the compiler
// itself, so a rebuild redoes only the cells whose spec (or cellgen) changed.
//
// Stored as one file per key (V8's structured-clone serialization: several times faster to read than JSON for
// the big entries, the emitted files and the documentation with its rendered formulas) under the cache folder: `node_modules/.cache/cellgen/` in the
// project (the folder find-cache-dir and babel use, git-ignored with node_modules), or
// `.cellgen-cache/` where the project has no node_modules; CELLGEN_CACHE_DIR overrides both.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { fileURLToPath } from 'node:url';

export function defaultCacheDir(cwd = process.cwd()): string {
  if (process.env.CELLGEN_CACHE_DIR) return process.env.CELLGEN_CACHE_DIR;
  return existsSync(join(cwd, 'node_modules')) ? join(cwd, 'node_modules', '.cache', 'cellgen') : join(cwd, '.cellgen-cache');
}

function hashTree(h: ReturnType<typeof createHash>, dir: string, root: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) hashTree(h, p, root);
    else if (/\.(ts|js|hbs|css)$/.test(e.name)) h.update(`${relative(root, p)}\0`).update(readFileSync(p)).update('\0');
  }
}

let compilerHash: string | undefined;

/** Set by the CLI bundle (bin/compile.js): the hash of the src/ it was bundled from. */
declare const __CELLGEN_SOURCE_HASH__: string | undefined;

/**
 * A hash of the code that makes the output: cellgen's sources (the bundle's recorded hash, or every
 * module of src/ when run from source) and every template. Any change to cellgen invalidates every entry.
 */
export function compilerVersion(): string {
  if (compilerHash) return compilerHash;
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'templates')) && dirname(root) !== root) root = dirname(root);
  const h = createHash('sha256');
  if (typeof __CELLGEN_SOURCE_HASH__ === 'string') h.update(__CELLGEN_SOURCE_HASH__);
  else hashTree(h, join(dirname(fileURLToPath(import.meta.url)), '..'), root);
  hashTree(h, join(root, 'templates'), root);
  compilerHash = h.digest('hex');
  return compilerHash;
}

export function cacheKey(...parts: string[]): string {
  const h = createHash('sha256').update(compilerVersion());
  for (const p of parts) h.update('\0').update(p);
  return h.digest('hex').slice(0, 32);
}

/** A folder of entries. Unreadable or corrupt entries are misses; failed writes are ignored. */
export class BuildCache {
  constructor(readonly dir: string) {}

  get<T>(kind: string, key: string): T | undefined {
    try {
      return deserialize(readFileSync(join(this.dir, kind, `${key}.v8`))) as T;
    } catch {
      return undefined;
    }
  }

  /** `value`: plain data (what JSON would keep; it is read back as it was written). */
  set(kind: string, key: string, value: unknown): void {
    this.write(join(this.dir, kind, `${key}.v8`), serialize(value));
  }

  /** A text entry, stored as it is (no JSON to parse): rendered pages. */
  getText(kind: string, key: string): string | undefined {
    try {
      return readFileSync(join(this.dir, kind, `${key}.txt`), 'utf8');
    } catch {
      return undefined;
    }
  }

  setText(kind: string, key: string, text: string): void {
    this.write(join(this.dir, kind, `${key}.txt`), text);
  }

  private write(p: string, text: string | Uint8Array): void {
    try {
      mkdirSync(dirname(p), { recursive: true });
      const tmp = `${p}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, p);
    } catch {
      // A read-only or full disk only costs speed.
    }
  }
}
