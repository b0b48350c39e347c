// Output trees held in memory, written atomically: a failed or killed build leaves the output folder whole.

import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { contentHash, OutputManifest } from './manifest.js';
import { recoverOutput, swapInto, swapStep } from './swap.js';
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

/** The file at `p` holds exactly `content` (false when it is missing or unreadable). */
function same(p: string, content: string | Uint8Array): boolean {
  try {
    return readFileSync(p).equals(bytesOf(content));
  } catch {
    return false;
  }
}

/**
 * Replaces `dir` with the tree: written into a sibling temporary folder first, then swapped in (src/build/swap.ts),
 * so `dir` holds the old tree or the new one at every instant, even if the build is killed. Files under `dir` that
 * the tree does not own (`keep`) are carried over. Files whose content did not change are hard links to the old
 * ones (never written in place, so the old tree stays whole), which makes removing the old tree cheap; when nothing
 * changed at all, `dir` is left as it is. With a `manifest` (manifest.ts: what the last build wrote, and the stats
 * it left), a file whose stats are those recorded is compared by its hash, not read. Returns whether `dir` changed.
 */
export function writeTreeAtomically(tree: FileTree, dir: string, keep: (path: string) => boolean = () => false, manifest?: OutputManifest): boolean {
  recoverOutput(dir);
  const existing = listFiles(dir);
  const hashes = new Map<string, string>();
  const hashOf = (path: string, content: string | Uint8Array): string => {
    let h = hashes.get(path);
    if (h === undefined) hashes.set(path, (h = contentHash(content)));
    return h;
  };
  const unchanged = new Set<string>();
  for (const [path, content] of tree) if (manifest?.holds(path, () => hashOf(path, content)) ?? same(join(dir, path), content)) unchanged.add(path);
  const record = (): void => {
    if (!manifest) return;
    for (const [path, content] of tree) hashOf(path, content);
    manifest.save(hashes);
  };
  if (existsSync(dir) && unchanged.size === tree.size && existing.every((p) => tree.has(p) || keep(p))) {
    // Nothing to write; record the stats where they were not known (the first build with a manifest).
    if (manifest?.missed) record();
    return false;
  }
  // Hard links where the file system has them, else copies.
  const carry = (from: string, to: string): void => {
    try {
      linkSync(from, to);
    } catch {
      cpSync(from, to);
    }
  };
  swapInto(dir, (tmp) => {
    for (const path of existing) {
      if (keep(path) && !tree.has(path)) {
        mkdirSync(dirname(join(tmp, path)), { recursive: true });
        swapStep();
        carry(join(dir, path), join(tmp, path));
      }
    }
    for (const [path, content] of tree) {
      const p = join(tmp, path);
      mkdirSync(dirname(p), { recursive: true });
      swapStep();
      if (unchanged.has(path)) carry(join(dir, path), p);
      else writeFileSync(p, bytesOf(content));
    }
  });
  // After the swap: linking and unlinking changed the files' ctime.
  record();
  return true;
}
