// Output trees held in memory, written atomically: a failed build leaves the output folder untouched.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 * Replaces `dir` with the tree: written into a sibling temporary folder first, then swapped in by
 * rename, so readers see the old tree or the new one, never a mix. Files under `dir` that the tree
 * does not own (`keep`) are carried over.
 */
export function writeTreeAtomically(tree: FileTree, dir: string, keep: (path: string) => boolean = () => false): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    for (const path of listFiles(dir)) {
      if (keep(path) && !tree.has(path)) {
        mkdirSync(dirname(join(tmp, path)), { recursive: true });
        cpSync(join(dir, path), join(tmp, path));
      }
    }
    for (const [path, content] of tree) {
      const p = join(tmp, path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, bytesOf(content));
    }
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir) && existsSync(old)) renameSync(old, dir);
    throw e;
  }
}
