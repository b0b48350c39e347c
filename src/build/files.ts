// Output trees held in memory, written atomically: a failed or killed build leaves the output folder whole.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { swapInto, swapStep } from './swap.js';
import { dirname, join, relative } from 'node:path';

/** Relative path (with '/') -> file content. */
export type FileTree = Map<string, string | Uint8Array>;

export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

const bytesOf = (c: string | Uint8Array): Buffer => (typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));

/** Files that differ between a tree and a folder: changed, missing from the folder, or extra in it. */
export function diffTree(tree: FileTree, dir: string, owned: (path: string) => boolean = () => true): { changed: string[]; missing: string[]; extra: string[] } {
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [path, content] of tree) {
    const p = join(dir, path);
    if (!existsSync(p)) missing.push(path);
    else if (!readFileSync(p).equals(bytesOf(content))) changed.push(path);
  }
  const extra = listFiles(dir).filter((p) => owned(p) && !tree.has(p));
  return { changed: changed.sort(), missing: missing.sort(), extra: extra.sort() };
}

/**
 * Replaces `dir` with the tree: written into a sibling temporary folder first, then swapped in (src/build/swap.ts),
 * so `dir` holds the old tree or the new one at every instant, even if the build is killed. Files under `dir` that
 * the tree does not own (`keep`) are carried over.
 */
export function writeTreeAtomically(tree: FileTree, dir: string, keep: (path: string) => boolean = () => false): void {
  swapInto(dir, (tmp) => {
    for (const path of listFiles(dir)) {
      if (keep(path) && !tree.has(path)) {
        mkdirSync(dirname(join(tmp, path)), { recursive: true });
        swapStep();
        cpSync(join(dir, path), join(tmp, path));
      }
    }
    for (const [path, content] of tree) {
      const p = join(tmp, path);
      mkdirSync(dirname(p), { recursive: true });
      swapStep();
      writeFileSync(p, bytesOf(content));
    }
  });
}
