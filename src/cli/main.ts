// The cellgen command line: argument parsing, file I/O and reporting only. Commands load the
// compiler (mathjs, typescript, katex, ...) lazily, so `--help` and `--version` start at once.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { Diagnostic, formatDiagnostic } from '../spec/diagnostic.js';
import { terminal } from '../text/escape.js';
import { packageVersion, shippedCellsDir } from './package.js';
import { canCreateIn } from './paths.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

export interface BuildFlags {
  cells: string;
  out: string;
  only?: string;
  check?: boolean;
  verify: boolean;
  docs: boolean;
  cache: boolean;
  typecheck?: boolean;
}

async function runNew(name: string, o: { from?: string; cells: string }): Promise<void> {
  const { newSpec } = await import('./new.js');
  const target = join(o.cells, `${name}.cell.yaml`);
  if (existsSync(target)) throw new Diagnostic(`${target} already exists`, undefined, 'choose another name or delete the file');
  let from: string | undefined;
  if (o.from !== undefined) {
    // A cell of the project first, then one shipped with cellgen.
    const own = join(o.cells, `${o.from}.cell.yaml`);
    const shipped = join(shippedCellsDir(), `${o.from}.cell.yaml`);
    from = existsSync(own) ? own : existsSync(shipped) && /^[a-z0-9-]+$/.test(o.from) ? shipped : undefined;
    if (!from) throw new Diagnostic(`no cell '${o.from}' in ${o.cells}/ or among the shipped cells`, undefined, `shipped cells: ${(await import('./shipped.js')).shippedNames().join(', ')}`);
  }
  const text = newSpec(name, from ? { text: readFileSync(from, 'utf8'), file: from } : undefined);
  canCreateIn(dirname(resolve(target)), target);
  mkdirSync(dirname(resolve(target)), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, target);
  out(`wrote ${target}; build it with 'cellgen build'`);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('cellgen')
    .description('Recurrent cell equations -> BPTT derivation, LaTeX, TypeScript and WGSL kernels, documentation, all checked numerically.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError("(run 'cellgen --help' for usage)")
    .showSuggestionAfterError(true)
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
    .option('--no-cache', 'rebuild every cell (ignore node_modules/.cache/cellgen)')
    .option('--typecheck', 'also type-check the emitted TypeScript under strict (slower; the tests always do)')
    .action(async (o: BuildFlags) => {
      const { runBuild } = await import('./build.js');
      code = await runBuild(o);
    });
  program
    .command('new')
    .description('write a new cell spec to start from')
    .argument('<name>', 'cell name: lower-case letters, digits and hyphens')
    .option('--from <cell>', 'copy a cell of the project or one shipped with cellgen')
    .option('--cells <dir>', 'folder of *.cell.yaml specs', 'cells')
    .action(runNew);
  program.command('cells').description('list the cells shipped with cellgen (for new --from)').action(async () => {
    out((await import('./shipped.js')).shippedNames().join('\n'));
  });
  program
    .command('experiment')
    .description('train the generated kernels on an experiment and write its results')
    .argument('<name>', "the experiment: 'agreement' (subject-verb agreement across a clause of L words)")
    .option('--out <file>', 'where the results JSON goes', 'experiments/agreement.json')
    .option('--kernels <dir>', 'folder of generated TypeScript kernels', 'generated/ts')
    .option('--quick', 'three lags and fewer steps, for a first look')
    .option('--cells <names>', 'comma-separated cells to train')
    .option('--lags <list>', 'comma-separated lags L')
    .option('--steps <n>', 'training steps per run')
    .option('--seeds <list>', 'comma-separated seeds')
    .action(async (name: string, o: import('./experiment.js').ExperimentCliOptions) => {
      if (name !== 'agreement') throw new Diagnostic(`unknown experiment '${name}'`, undefined, "the experiment is 'agreement'");
      const { runAgreement } = await import('./experiment.js');
      out(await runAgreement(o, err));
    });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 1;
    }
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
