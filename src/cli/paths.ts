// Checks on the folders the command line writes, made before any work: a mistake there is a Diagnostic (exit 1), never
// a lost folder, an exception, or a hang.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Diagnostic } from '../spec/diagnostic.js';

/** a is b or inside b. */
const within = (a: string, b: string): boolean => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);

/** The first line of every generated/ts/index.ts (src/build/build.ts). */
const INDEX_HEADER = '// Every generated cell module';

/**
 * Refuses an output folder that a build would wrongly replace (it replaces the folder as a whole): the specs' folder
 * or one holding it, the current folder or one holding it, a file, or a folder holding files cellgen did not write.
 * Also makes sure the folder's parent can be written to (the new tree is written beside it first).
 */
export function checkOutDir(out: string, cells: string): void {
  const dir = resolve(out);
  const hint = "cellgen replaces its output folder as a whole: pass a new or empty folder, e.g. '--out generated'";
  if (within(resolve(cells), dir)) throw new Diagnostic(`--out '${out}' would replace the folder of the specs ('${cells}')`, undefined, hint);
  if (within(process.cwd(), dir)) throw new Diagnostic(`--out '${out}' would replace the current folder`, undefined, hint);
  const s = statSync(dir, { throwIfNoEntry: false });
  if (s && !s.isDirectory()) throw new Diagnostic(`--out '${out}' is a file, not a folder`, undefined, hint);
  if (s && readdirSync(dir).length > 0 && !generatedIndex(dir)) throw new Diagnostic(`--out '${out}' holds files that cellgen did not write`, undefined, hint);
  canCreateIn(dirname(dir), `--out '${out}'`);
}

function generatedIndex(dir: string): boolean {
  try {
    return readFileSync(join(dir, 'ts', 'index.ts'), 'utf8').startsWith(INDEX_HEADER);
  } catch {
    return false;
  }
}

/**
 * Refuses a folder in which `what` cannot be created: the nearest existing folder above must take a new entry. Checked
 * by making and removing one folder there, without `recursive`: Node's recursive mkdir loops forever where mkdir
 * fails with ENOENT (under /proc).
 */
export function canCreateIn(dir: string, what: string): void {
  let d = resolve(dir);
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  const fail = (why: string): never => {
    throw new Diagnostic(`${what} cannot be created: ${why}`, undefined, 'choose a folder you can write to');
  };
  if (!statSync(d).isDirectory()) fail(`'${d}' is a file, not a folder`);
  const probe = join(d, `.cellgen-probe-${process.pid}`);
  try {
    mkdirSync(probe);
  } catch (e) {
    fail(`'${d}' does not take new folders (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  rmdirSync(probe);
}
