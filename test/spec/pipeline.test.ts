// Property: 10 000 mutated specs go through the whole pipeline (read, lower, derive, TS + WebAssembly glue, WGSL,
// LaTeX, KaTeX) in workers with a time limit, and each ends in a build or in a Diagnostic with a position in the spec;
// never in another exception, a hang, generated code that does not parse, or a raw control character on the terminal.
// Every spec the reader accepts is printed by every printer and all its LaTeX is rendered (see pipeline/worker.ts).

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { apply, mutation } from './pipeline/mutations.js';
import type { Job, Outcome } from './pipeline/worker.js';

/** CELLGEN_PIPELINE_FUZZ_RUNS=50000 for a longer hunt. */
const RUNS = Number(process.env.CELLGEN_PIPELINE_FUZZ_RUNS ?? 10_000);
/** A worker that reports nothing for this long is stuck on one spec. */
const STALL_MS = 30_000;
const SEEDS = ['cells/rnn-tanh.cell.yaml', 'cells/mingru.cell.yaml', 'test/fixtures/good/swish-rnn.cell.yaml'].map((file) => ({ file, text: readFileSync(file, 'utf8') }));

mkdirSync('.tmp', { recursive: true });
const dir = mkdtempSync(join('.tmp', 'pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function jobs(): Job[] {
  const gen = fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }));
  return fc.sample(gen, { seed: 20261130, numRuns: RUNS }).map(([si, ms], index) => ({ index, file: SEEDS[si]!.file, text: ms.reduce(apply, SEEDS[si]!.text) }));
}

/** Runs the jobs on `n` workers; a worker silent for STALL_MS is terminated and its current job reported as a hang. */
async function runAll(all: Job[], n: number): Promise<Outcome[]> {
  const script = resolve(dir, 'worker.mjs');
  buildSync({ entryPoints: ['test/spec/pipeline/worker.ts'], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: script, logLevel: 'silent' });
  const outcomes: Outcome[] = [];
  const chunks = Array.from({ length: n }, (_, k) => all.filter((_, i) => i % n === k));
  await Promise.all(chunks.map((chunk) => new Promise<void>((resolve) => {
    const w = new Worker(script);
    let last = 0;
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const stuck = chunk[last];
        if (stuck) outcomes.push({ index: stuck.index, result: 'bug', detail: `no result within ${STALL_MS} ms` });
        void w.terminate();
        resolve();
      }, STALL_MS);
    };
    w.on('message', (m: Outcome | 'done' | 'ready') => {
      if (m === 'ready') {
        // Loading the pipeline is not part of any spec's time.
        w.postMessage(chunk);
        arm();
        return;
      }
      if (m === 'done') {
        clearTimeout(timer);
        void w.terminate();
        resolve();
        return;
      }
      outcomes.push(m);
      last++;
      arm();
    });
    w.on('error', (e: Error) => {
      clearTimeout(timer);
      const at = chunk[last];
      outcomes.push({ index: at?.index ?? -1, result: 'bug', detail: `worker died: ${e.stack ?? String(e)}` });
      resolve();
    });
  })));
  return outcomes;
}

describe('mutated specs through the whole pipeline', () => {
  it(`${RUNS} of them build or end in a positioned Diagnostic`, async () => {
    const all = jobs();
    const outcomes = await runAll(all, Math.max(1, Math.min(2, availableParallelism())));
    const bugs = outcomes.filter((o) => o.result === 'bug').slice(0, 3).map((o) => `${o.detail}\n--- spec ---\n${all[o.index]?.text ?? '?'}`);
    expect(bugs).toEqual([]);
    expect(outcomes.length).toBe(all.length);
    // The mutations reach every stage: some specs build, most are refused.
    const built = outcomes.filter((o) => o.result === 'built');
    expect(built.length).toBeGreaterThan(RUNS / 50);
    // Every built spec went through every printer and KaTeX, not a sample of them.
    expect(built.filter((o) => !(o.checked?.ts && o.checked.wgsl && o.checked.latex && o.checked.formulas > 0)).map((o) => o.index)).toEqual([]);
    expect(outcomes.filter((o) => o.result === 'diagnostic').length).toBeGreaterThan(RUNS / 4);
  }, 1_500_000);
});
