// `npm run bench:build`: the command's own wall time, as a user meets it (issue 10's targets: a build of the shipped
// cells < 3 s from an empty cache, a rebuild after one changed spec < 1 s, --help/--version < 0.5 s). Each build runs
// `node bin/cellgen.js build` in a scratch project holding a copy of cells/, as a fresh process; "cold" starts from
// an empty build cache and no output, "one changed" appends a unique comment to one spec (so that cell is rebuilt:
// its cache key is the spec's text), "no change" rebuilds an up-to-date project. Kinds are interleaved round by round
// (the machine's speed drifts), and medians are reported with the min and max and the load average.
// `npx cellgen …` adds npm's own start (measured in the last row: npx's time minus the command's).
//   node --import tsx bench/build.ts [rounds]      (writes bench/build-results.md)

import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './stats.js';

const rounds = Number(process.argv[2] ?? 5);
const root = resolve('.');
const cli = join(root, 'bin', 'cellgen.js');
const project = mkdtempSync(join(tmpdir(), 'cellgen-bench-build-'));
const cache = join(project, 'cache');
cpSync(join(root, 'cells'), join(project, 'cells'), { recursive: true });
const cellCount = readdirSync(join(project, 'cells')).filter((f) => f.endsWith('.cell.yaml')).length;

/** Wall seconds of one run of `cmd args` in the scratch project. */
function run(cmd: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(cmd, args, { cwd: project, stdio: 'ignore', env: { ...process.env, CELLGEN_CACHE_DIR: cache } });
  return (performance.now() - t0) / 1000;
}

const changed = ['mgu', 'rnn-tanh', 'lstm'].filter((c) => readdirSync(join(project, 'cells')).includes(`${c}.cell.yaml`));
const kinds: [string, () => number][] = [
  ['--version', () => run(process.execPath, [cli, '--version'])],
  ['--help', () => run(process.execPath, [cli, '--help'])],
  [
    `cold build (${cellCount} cells, empty cache)`,
    () => {
      rmSync(cache, { recursive: true, force: true });
      rmSync(join(project, 'generated'), { recursive: true, force: true });
      return run(process.execPath, [cli, 'build']);
    },
  ],
  ...changed.map((c): [string, () => number] => [
    `one changed spec (${c})`,
    () => {
      appendFileSync(join(project, 'cells', `${c}.cell.yaml`), `# bench ${process.hrtime.bigint()}\n`);
      return run(process.execPath, [cli, 'build']);
    },
  ]),
  ['no change', () => run(process.execPath, [cli, 'build'])],
  ['npx cellgen --version', () => run('npx', ['--no-install', 'cellgen', '--version'])],
];

// The first command bundles the CLI if src/ changed (bin/compile.js), and the first build fills the cache: not timed.
run(process.execPath, [cli, 'build']);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bench-build', private: true, devDependencies: { cellgen: `file:${root}` } }));
execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--install-links=false'], { cwd: project, stdio: 'ignore' });
const times = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
const load0 = loadavg()[0]!;
for (let r = 0; r < rounds; r++) for (const [k, f] of kinds) times.get(k)!.push(f());
const load1 = loadavg()[0]!;
rmSync(project, { recursive: true, force: true });

const fmt = (s: number) => s.toFixed(2);
const rows = kinds.map(([k]) => {
  const t = times.get(k)!;
  return `| ${k} | ${fmt(median(t))} | ${fmt(Math.min(...t))} | ${fmt(Math.max(...t))} |`;
});
const npx = median(times.get('npx cellgen --version')!) - median(times.get('--version')!);
const table = [
  `Build wall times, seconds (${rounds} interleaved rounds, ${new Date().toISOString().slice(0, 16)}Z, load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}, Node ${process.versions.node}):`,
  '',
  '| command | median | min | max |',
  '|---|---:|---:|---:|',
  ...rows,
  '',
  `npx's own start: ${fmt(npx)} s (npx cellgen --version minus node bin/cellgen.js --version, medians), added to every \`npx cellgen\` command.`,
  '',
].join('\n');
console.log(table);
writeFileSync(join(root, 'bench', 'build-results.md'), `# cellgen build times\n\nMeasured by \`npm run bench:build\` (bench/build.ts).\n\n${table}`);
