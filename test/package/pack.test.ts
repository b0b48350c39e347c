// The package as a user gets it: `npm pack`, installed into a fresh project (offline: its
// dependencies are linked from this checkout's node_modules), `cellgen new` + `cellgen build` there,
// the generated folder self-contained, a consumer type-checked under strict and run (TS kernels, and
// WGSL kernels on Dawn), and the runtime entries free of compiler modules.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../src/build/files.js';

const ROOT = process.cwd();
const COMPILER = ['mathjs', 'typescript', 'ts-morph', 'handlebars', 'katex', 'vega', 'vega-lite', 'yaml', 'commander'];
const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, CELLGEN_DEBUG: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

let project = '';

beforeAll(() => {
  // dist/ as `npm run build` makes it (the repository's .npmrc skips prepack), then the tarball.
  run(process.execPath, ['bin/compile.js'], ROOT);
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], ROOT);
  const packDir = mkdtempSync(join(tmpdir(), 'cellgen-pack-'));
  const out = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], ROOT)) as { filename: string }[];
  project = mkdtempSync(join(tmpdir(), 'cellgen-user-'));
  const nm = join(project, 'node_modules');
  mkdirSync(join(nm, 'cellgen'), { recursive: true });
  execFileSync('tar', ['-xzf', join(packDir, out[0]!.filename), '-C', join(nm, 'cellgen'), '--strip-components=1']);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || name === 'cellgen') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(nm, name));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module', devDependencies: { cellgen: '*' } }, null, 2));
}, 600_000);

describe('the packed package in a user project', () => {
  it('runs new and build there, and the output imports only its own files', () => {
    const cellgen = join(project, 'node_modules/cellgen/bin/cellgen.js');
    run(process.execPath, [cellgen, 'new', 'fresh-cell'], project);
    run(process.execPath, [cellgen, 'new', 'my-gru', '--from', 'gru'], project);
    run(process.execPath, [cellgen, 'build'], project);
    const gen = join(project, 'generated');
    const files = listFiles(gen);
    for (const f of ['ts/my-gru.ts', 'ts/fresh-cell.ts', 'ts/index.ts', 'wgsl/my-gru.ts', 'wgsl/runtime/index.ts', 'latex/my-gru.tex', 'docs/index.html']) expect(files).toContain(f);
    for (const f of files.filter((p) => p.endsWith('.ts'))) {
      const text = readFileSync(join(gen, f), 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        // The Node device helper loads Dawn (npm package `webgpu`) on demand; it is the only bare import.
        if (f === 'wgsl/runtime/node.ts' && spec === 'webgpu') continue;
        expect(spec, `${f} imports ${spec}`).toMatch(/^\.\.?\//);
        const target = posix.normalize(posix.join(posix.dirname(f), spec)).replace(/\.js$/, '.ts');
        expect(files, `${f} imports ${spec}`).toContain(target);
      }
    }
  }, 600_000);

  it('type-checks a consumer under strict and runs the TS and WGSL kernels', async () => {
    writeFileSync(join(project, 'consumer.ts'), readFileSync(join(ROOT, 'test/package/consumer.ts.txt'), 'utf8').replaceAll('CELL', 'my-gru'));
    // The README's example, as written.
    const example = /<!-- example -->\s*```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    writeFileSync(join(project, 'readme-example.ts'), `${example![1]!}export {};\n`);
    // No @webgpu/types of the user's own: the generated modules reference cellgen's dependency. The
    // options are `tsc --init`'s (strict, skipLibCheck) on Node's libraries, without the DOM.
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], noEmit: true, skipLibCheck: true }, include: ['consumer.ts', 'readme-example.ts', 'generated/**/*.ts'] }));
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [join(project, 'consumer.ts')], bundle: true, platform: 'node', format: 'esm', external: ['webgpu'], outfile: join(project, 'consumer.mjs'), absWorkingDir: project, logLevel: 'warning' });
    const r = JSON.parse(run(process.execPath, ['consumer.mjs'], project).trim().split('\n').pop()!) as { ts32: number; wgsl: number | string; stackOut: number };
    expect(r.ts32).toBeLessThan(1e-4);
    expect(r.stackOut).toBe(4 * 2 * 4);
    if (typeof r.wgsl === 'string') {
      // Without an adapter the GPU half is reported, except under CI, which installs Mesa.
      if (process.env.CI) throw new Error(r.wgsl);
      console.warn(`WGSL half of the package test skipped: ${r.wgsl}`);
    } else expect(r.wgsl).toBeLessThan(1e-4);
  }, 600_000);

  it("bundles the runtime entries without any compiler module", async () => {
    const esbuild = await import('esbuild');
    const entries = ['cellgen/cells', 'cellgen/cells/lstm', 'cellgen/runtime', 'cellgen/webgpu', 'cellgen/webgpu/gru'];
    writeFileSync(join(project, 'entries.mjs'), entries.map((e, i) => `export * as e${i} from '${e}';`).join('\n'));
    const r = await esbuild.build({ entryPoints: [join(project, 'entries.mjs')], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', external: ['webgpu'], absWorkingDir: project, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs).map((p) => resolve(project, p));
    expect(inputs.some((p) => p.includes('/cellgen/dist/generated/ts/lstm.js'))).toBe(true);
    const pulled = inputs.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(relative(project, p).replace(/^.*?node_modules\/cellgen\//, ''))?.[1]).filter((n): n is string => !!n);
    expect(pulled.filter((n) => COMPILER.includes(n))).toEqual([]);
    const own = inputs.filter((p) => p.includes('/cellgen/dist/')).map((p) => p.replace(/^.*\/cellgen\/dist\//, ''));
    expect(own.filter((p) => /^src\/(spec|ir|derive|emit|build|cli|docs)\//.test(p))).toEqual([]);
    expect(dirname(own[0]!)).toBeTruthy();
  }, 120_000);
});
