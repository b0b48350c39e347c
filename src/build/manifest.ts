// What the last build wrote to an output folder: per file its content hash and the stats it had afterwards, so the
// next build knows an unchanged file without reading it. A file whose stats differ in any way (size, mtime, ctime,
// inode: an edit by hand, a git checkout, a copy) is read and compared as if there were no manifest.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** [size, mtime ns, ctime ns, inode, sha256 of the content] */
type Entry = [string, string, string, string, string];

interface Stored {
  readonly version: 1;
  readonly dir: string;
  readonly files: Record<string, Entry>;
}

export const contentHash = (content: string | Uint8Array): string => createHash('sha256').update(content).digest('base64');

const statKey = (p: string): [string, string, string, string] | undefined => {
  const s = statSync(p, { bigint: true, throwIfNoEntry: false });
  return s && s.isFile() ? [String(s.size), String(s.mtimeNs), String(s.ctimeNs), String(s.ino)] : undefined;
};

/** The manifest of the output folder `dir`, kept in the file `file` (under the build cache). */
export class OutputManifest {
  private readonly dir: string;
  private readonly files: Record<string, Entry>;
  /** Some file's stats were not those recorded (or none were). */
  missed = false;

  constructor(
    private readonly file: string,
    dir: string,
  ) {
    this.dir = resolve(dir);
    let stored: Stored | undefined;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    } catch {}
    this.files = stored?.version === 1 && stored.dir === this.dir && typeof stored.files === 'object' ? stored.files : {};
  }

  /**
   * Whether the file at `path` (relative to the folder) holds the content whose hash `hash` gives, known without
   * reading it: true or false when its stats are those recorded, undefined when they are not (read it).
   */
  holds(path: string, hash: () => string): boolean | undefined {
    const e = this.files[path];
    const now = e && statKey(join(this.dir, path));
    if (!e || !now || now[0] !== e[0] || now[1] !== e[1] || now[2] !== e[2] || now[3] !== e[3]) {
      this.missed = true;
      return undefined;
    }
    return hash() === e[4];
  }

  /** Records the folder as it is now: the stats of the files `hashes` names, with their content hashes. */
  save(hashes: ReadonlyMap<string, string>): void {
    // A file changed in the clock tick that its recorded ctime names could change again in that tick, unseen (git's
    // "racily clean" entries): only files whose ctime is before a file made now, beside the folder (same file system,
    // same clock granularity), are recorded; the others are read next time.
    let now: bigint;
    const marker = `${this.dir}.stamp-${process.pid}`;
    try {
      writeFileSync(marker, '');
      now = statSync(marker, { bigint: true }).ctimeNs;
      rmSync(marker, { force: true });
    } catch {
      return;
    }
    const files: Record<string, Entry> = {};
    for (const [path, hash] of hashes) {
      const s = statKey(join(this.dir, path));
      if (s && BigInt(s[2]) < now) files[path] = [...s, hash];
    }
    const stored: Stored = { version: 1, dir: this.dir, files };
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify(stored));
      renameSync(tmp, this.file);
    } catch {
      // A build without a manifest reads the files next time.
    }
  }
}

/** Where the manifest of the output folder `dir` lives in the cache folder `cacheDir`. */
export const manifestFile = (cacheDir: string, dir: string): string => join(cacheDir, 'output', `${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 24)}.json`);
