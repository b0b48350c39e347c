// Replaces an output folder by a new tree so that a kill at any point leaves the complete old tree or the complete new
// one at the output path, and the next build cleans up what a killed build left.
//
// The output stays a real folder (it is committed to git and packed by npm), so it cannot be a symlink switched by one
// rename. Instead:
//   1. the new tree is written to a sibling `<out>.tmp-<pid>-<n>/` (a kill here leaves <out> untouched);
//   2. a journal `<out>.swap` (written to a temporary name, then renamed: it exists whole or not at all) records
//      both folders;
//   3. on Linux the two folders are exchanged with one renameat2(RENAME_EXCHANGE) call: there is no instant at which
//      <out> is missing or mixed. Where that call is unavailable (another OS, a file system without it, no perl),
//      <out> is renamed to `<out>.old-<pid>-<n>` and the new folder renamed into place: a kill between those two
//      renames leaves no <out> for a moment, and the journal lets the next build put the new folder in place;
//   4. the old tree and the journal are removed.
// `recoverOutput` runs first in every build: it finishes or undoes a swap that a journal names and removes the
// leftovers of killed builds (`<out>.tmp-*`, `<out>.old-*`, `<out>.swap*`, and manifest.ts's `<out>.stamp-*`) whose
// process is gone.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

interface Journal {
  readonly pid: number;
  /** The complete new tree, before the exchange (after it: the old tree). */
  readonly tmp: string;
  /** Where the old tree goes in the two-rename fallback. */
  readonly old: string;
}

let counter = 0;
let steps = 0;

/**
 * Test hook: CELLGEN_TEST_KILL_AT_STEP=k kills this process (SIGKILL, nothing runs after it) just before the k-th
 * file-system change of a swap, so a test can check the output after a kill at every point.
 */
function step(): void {
  steps++;
  const k = Number(process.env.CELLGEN_TEST_KILL_AT_STEP);
  if (Number.isInteger(k) && k === steps) process.kill(process.pid, 'SIGKILL');
}

/** renameat2 syscall numbers by architecture (Linux). */
const RENAMEAT2: Readonly<Record<string, number>> = { x64: 316, arm64: 276, ia32: 353, arm: 382, riscv64: 276, loong64: 276, ppc64: 357, s390x: 347 };

/** Exchanges two existing paths atomically (renameat2 RENAME_EXCHANGE, via perl's syscall); false where unsupported. */
function exchange(a: string, b: string): boolean {
  const nr = RENAMEAT2[process.arch];
  if (process.platform !== 'linux' || nr === undefined || process.env.CELLGEN_SWAP_NO_EXCHANGE) return false;
  const script = '$r = syscall($ARGV[0] + 0, -100, $ARGV[1], -100, $ARGV[2], 2); exit($r == 0 ? 0 : 1)';
  const r = spawnSync('perl', ['-e', script, String(nr), a, b], { stdio: 'ignore' });
  return r.status === 0;
}

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const journalPath = (out: string): string => `${out}.swap`;

function writeJournal(out: string, j: Journal): void {
  const tmp = `${journalPath(out)}.tmp-${process.pid}`;
  step();
  writeFileSync(tmp, JSON.stringify(j));
  step();
  renameSync(tmp, journalPath(out));
}

function readJournal(out: string): Journal | undefined {
  try {
    const j = JSON.parse(readFileSync(journalPath(out), 'utf8')) as Journal;
    return typeof j.pid === 'number' && typeof j.tmp === 'string' && typeof j.old === 'string' ? j : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finishes or undoes an interrupted swap of `out`, then removes what killed builds left beside it. Returns what it did,
 * for the build's log.
 */
export function recoverOutput(out: string): string[] {
  const done: string[] = [];
  const j = readJournal(out);
  if (j && !alive(j.pid)) {
    if (!existsSync(out)) {
      // Killed between the two renames of the fallback: the new tree was complete, put it in place.
      if (existsSync(j.tmp)) renameSync(j.tmp, out);
      else if (existsSync(j.old)) renameSync(j.old, out);
      done.push(`finished the interrupted replacement of ${out}`);
    }
    rmSync(journalPath(out), { force: true });
  }
  const parent = dirname(out);
  const base = basename(out);
  if (!existsSync(parent)) return done;
  const leftover = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:tmp|old|swap\\.tmp|stamp)-(\\d+)(?:-\\d+)?$`);
  const stillJournaled = readJournal(out);
  for (const name of readdirSync(parent)) {
    const m = leftover.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const p = join(parent, name);
    if (stillJournaled && (p === stillJournaled.tmp || p === stillJournaled.old)) continue;
    rmSync(p, { recursive: true, force: true });
    done.push(`removed ${p}, left by a killed build`);
  }
  return done;
}

/**
 * Replaces the folder `out` by a new tree that `fill` writes into a sibling temporary folder. At every instant `out`
 * is the complete old tree or the complete new one (see the file header).
 */
export function swapInto(out: string, fill: (tmp: string) => void): void {
  mkdirSync(dirname(out), { recursive: true });
  recoverOutput(out);
  const id = `${process.pid}-${++counter}`;
  const tmp = `${out}.tmp-${id}`;
  const old = `${out}.old-${id}`;
  try {
    step();
    mkdirSync(tmp, { recursive: true });
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(out)) {
    step();
    renameSync(tmp, out);
    return;
  }
  writeJournal(out, { pid: process.pid, tmp, old });
  step();
  if (exchange(out, tmp)) {
    // tmp now holds the old tree.
    step();
    rmSync(tmp, { recursive: true, force: true });
  } else {
    step();
    renameSync(out, old);
    step();
    renameSync(tmp, out);
    step();
    rmSync(old, { recursive: true, force: true });
  }
  step();
  rmSync(journalPath(out), { force: true });
}

/** A step of a swap, for a writer that fills the temporary folder (each file written counts as one). */
export function swapStep(): void {
  step();
}
