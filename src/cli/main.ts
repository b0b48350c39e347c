// The cellgen command line: argument parsing, file I/O and reporting only.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { build, type CellReport, LIMITS } from '../build/build.js';
import { diffTree, writeTreeAtomically } from '../build/files.js';
import { Diagnostic, formatDiagnostic } from '../spec/diagnostic.js';
import { terminal } from '../text/escape.js';
import { newSpec } from './new.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

function table(reports: readonly CellReport[]): string {
  const head = ['cell', 'params', 'formula', 'flops fwd/step', 'flops bwd/step', 'saved B/step', 'grad-check err', 'kernel err f64', 'kernel err f32', 'time'];
  const rows = reports.map((r) => [
    r.name, String(r.params), r.paramsFormula.replace(/[{}]/g, '').replace(/\^2/g, '²'), String(r.forwardFlops), String(r.backwardFlops), String(r.savedBytes),
    r.gradCheck === undefined ? '-' : r.gradCheck.toExponential(1), r.kernelF64 === undefined ? '-' : r.kernelF64.toExponential(1),
    r.kernelF32 === undefined ? '-' : r.kernelF32.toExponential(1), `${(r.ms / 1000).toFixed(2)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

async function runBuild(o: { cells: string; out: string; only?: string; check?: boolean; verify: boolean; docs: boolean }): Promise<number> {
  const only = o.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const quiet = !process.stderr.isTTY;
  const result = await build({
    cellsDir: o.cells,
    only,
    verify: o.verify && !o.check,
    docs: o.docs,
    log: (line) => (quiet ? err(line) : process.stderr.write(`\r\x1b[K${line}`)),
  });
  if (!quiet) process.stderr.write('\r\x1b[K');
  if (o.check) {
    const d = diffTree(result.tree, o.out, result.owns);
    const bad = [...d.changed.map((p) => `changed: ${p}`), ...d.missing.map((p) => `missing: ${p}`), ...d.extra.map((p) => `stale:   ${p}`)];
    if (bad.length) {
      err(`error: ${o.out} differs from a fresh build:`);
      for (const b of bad) err(`  ${join(o.out, b.slice(9))} (${b.slice(0, 7).trim()})`);
      err(`  = hint: run 'cellgen build' and commit ${o.out}`);
      return 1;
    }
    out(`${o.out} is up to date (${result.tree.size} files)`);
    return 0;
  }
  writeTreeAtomically(result.tree, o.out, (p) => !result.owns(p));
  out(table(result.reports));
  out(`\nwrote ${result.tree.size} files to ${o.out}${o.verify ? ` (checks: gradient ≤ ${LIMITS.gradCheck}, kernels f64 ≤ ${LIMITS.kernelF64}, f32 ≤ ${LIMITS.kernelF32})` : ''}`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('cellgen')
    .description('Recurrent cell equations -> BPTT derivation, LaTeX, TypeScript and WGSL kernels, documentation, all checked numerically.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  let code = 0;
  program
    .command('build')
    .description('derive every cell, emit every target, verify each cell numerically, and write the output folder')
    .option('--cells <dir>', 'folder of *.cell.yaml specs', 'cells')
    .option('--out <dir>', 'output folder', 'generated')
    .option('--only <cells>', 'comma-separated cell names to build (others are kept as they are)')
    .option('--check', 'build in memory and exit non-zero if the output folder differs')
    .option('--no-verify', 'skip the numeric checks')
    .option('--no-docs', 'skip the documentation site')
    .action(async (o: { cells: string; out: string; only?: string; check?: boolean; verify: boolean; docs: boolean }) => {
      code = await runBuild(o);
    });
  program
    .command('new')
    .description('write a new cell spec to start from')
    .argument('<name>', 'cell name: lower-case letters, digits and hyphens')
    .option('--from <cell>', 'copy an existing cell')
    .option('--cells <dir>', 'folder of *.cell.yaml specs', 'cells')
    .action((name: string, o: { from?: string; cells: string }) => {
      const target = join(o.cells, `${name}.cell.yaml`);
      if (existsSync(target)) throw new Diagnostic(`${target} already exists`, undefined, 'choose another name or delete the file');
      const from = o.from ? join(o.cells, `${o.from}.cell.yaml`) : undefined;
      if (from && !existsSync(from)) throw new Diagnostic(`no cell '${o.from}' in ${o.cells}`, undefined, `expected ${from}`);
      const text = newSpec(name, from ? { text: readFileSync(from, 'utf8'), file: from } : undefined);
      mkdirSync(dirname(resolve(target)), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, target);
      out(`wrote ${target}; build it with 'cellgen build --only ${name}'`);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    if (e instanceof Diagnostic) {
      err(formatDiagnostic(e));
      return 1;
    }
    err(`error: ${terminal(e instanceof Error ? e.message : String(e))}`);
    if (process.env.CELLGEN_DEBUG && e instanceof Error) err(e.stack ?? '');
    return 2;
  }
}
