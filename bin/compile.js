// Compiles the TypeScript sources to dist/ with one esbuild pass (no bundling, no type-check: `tsc`
// does that), and keeps dist/ in step with src/ for the `cellgen` command.
//
// Two outputs: dist/src/ and dist/generated/ (one file per module, what the package's exports and
// `cellgen` as a library import), and dist/cli/<hash>/ (the command, bundled with its dependencies
// into a few chunks that load several times faster than thousands of small modules; typescript,
// ts-morph and esbuild stay outside and load only when needed).
//
// `node bin/compile.js` writes both (npm's `prepare`). `ensureCompiled()` is what bin/cellgen.js
// calls: when the sources sit beside it (a clone, or the package, which ships src/) and their
// content differs from the last bundle's, or there is none, it bundles again first (a second or
// two), so the command never runs a missing or stale dist/.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { splitBinaryen } from './binaryen-split.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(ROOT, 'dist', 'cli', 'current');
const cliEntry = (sig) => join(ROOT, 'dist', 'cli', sig.slice(0, 16), 'main.js');

/** Every .ts file (not .d.ts) under dir, recursively. */
function tsFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const require = createRequire(import.meta.url);

/** The installed version of each runtime dependency: a new binaryen or KaTeX is a new compiler too. */
function dependencyVersions() {
  const deps = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies ?? {}).sort();
  return deps.map((d) => {
    try {
      return `${d}@${JSON.parse(readFileSync(require.resolve(`${d}/package.json`), 'utf8')).version}`;
    } catch {
      return `${d}@?`;
    }
  });
}

/**
 * A signature of the sources: a hash of their paths and contents (npm resets mtimes in packages) and
 * of the installed dependencies' versions.
 */
function signature(files) {
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(`${relative(ROOT, f)}\0`).update(readFileSync(f)).update('\0');
  h.update(dependencyVersions().join('\0'));
  return h.digest('hex');
}

function writeAtomically(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Transpiles the given folders' .ts files to dist/ (same layout as tsconfig.build.json's outDir). */
export async function compile(folders = ['src', 'generated/ts', 'generated/wgsl']) {
  const { build } = await import('esbuild');
  const entryPoints = folders.flatMap((f) => tsFiles(join(ROOT, f)));
  const r = await build({
    entryPoints,
    outdir: join(ROOT, 'dist'),
    outbase: ROOT,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  for (const f of r.outputFiles) writeAtomically(f.path, f.contents);
  return entryPoints.length;
}

/** Modules the CLI bundle leaves to Node: big and loaded lazily, native, or optional. */
const EXTERNAL = ['typescript', 'ts-morph', 'esbuild', 'webgpu', 'canvas', 'onnxruntime-node'];

/** Bundles the command (src/cli/main.ts) into dist/cli/<signature>/; returns its entry. */
export async function compileCli(sig) {
  const { build } = await import('esbuild');
  const outdir = dirname(cliEntry(sig));
  // binaryen as glue + wasm file beside the chunks (binaryen-split.js), loaded several times faster.
  const split = splitBinaryen(require.resolve('binaryen'));
  if (split) {
    writeAtomically(join(outdir, 'binaryen.wasm'), split.wasm);
    writeAtomically(join(outdir, 'binaryen.js'), split.js);
  }
  const plugins = split ? [{ name: 'binaryen-split', setup: (b) => b.onResolve({ filter: /^binaryen$/ }, () => ({ path: './binaryen.js', external: true })) }] : [];
  const r = await build({
    plugins,
    // main: the command; worker: the build's worker threads (src/build/pool.ts finds it beside its chunk);
    // render-worker: the thread that renders the docs' formulas and figures (src/docs/render-client.ts finds it).
    entryPoints: { main: join(ROOT, 'src', 'cli', 'main.ts'), worker: join(ROOT, 'src', 'build', 'worker.ts'), 'render-worker': join(ROOT, 'src', 'docs', 'render-worker.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    external: EXTERNAL,
    // The compiler's identity for the build cache (src/build/cache.ts).
    define: { __CELLGEN_SOURCE_HASH__: JSON.stringify(sig) },
    // Bundled CommonJS packages call require().
    banner: { js: "import { createRequire as __cellgenRequire } from 'node:module'; const require = __cellgenRequire(import.meta.url);" },
    write: false,
    logLevel: 'error',
  });
  for (const f of r.outputFiles) writeAtomically(f.path, f.contents);
  writeAtomically(STAMP, sig);
  removeOldBundles(outdir);
  return cliEntry(sig);
}

/**
 * Every source change bundles anew into its own folder (about 30 MB). Folders of older sources go
 * once they are an hour old: a command started from one before that has long loaded its chunks.
 */
function removeOldBundles(keep) {
  const dir = dirname(keep);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (!e.isDirectory() || p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { recursive: true, force: true });
    } catch {}
  }
}

const STAT_STAMP = `${STAMP}.stat`;

/**
 * What the file system says about the sources and the installed dependencies (path, size, mtime, ctime, inode of
 * each; ctime changes with every write and cannot be set back):
 * when it is what it was when the signature was last computed, the sources are unchanged and hashing them
 * (30-100 ms per command) is skipped. Any doubt (a touched file, a new or removed one) computes the signature.
 */
function statKey(files) {
  const stats = files.sort().map((f) => {
    const s = statSync(f);
    return `${relative(ROOT, f)}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}`;
  });
  return [...stats, ROOT, readFileSync(join(ROOT, 'package.json'), 'utf8'), ...lockStats()].join('\n');
}

/**
 * The package managers' own records of what is installed (npm rewrites node_modules/.package-lock.json on every
 * install; pnpm and yarn keep theirs), in cellgen's node_modules and, when cellgen is itself installed, in the
 * project's. None found: no fast path (throws).
 */
function lockStats() {
  const dirs = [join(ROOT, 'node_modules')];
  if (/^(node_modules|@[^/\\]+)$/.test(basename(dirname(ROOT)))) dirs.push(dirname(ROOT).endsWith('node_modules') ? dirname(ROOT) : dirname(dirname(ROOT)));
  const out = [];
  for (const d of dirs)
    for (const f of ['.package-lock.json', '.modules.yaml', '.yarn-state.yml']) {
      try {
        const s = statSync(join(d, f));
        out.push(`${join(d, f)}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}`);
      } catch {}
    }
  if (!out.length) throw new Error('no record of the installed packages');
  return out;
}

/** The URL of the bundled CLI, bundling src/ first when there is none for the current sources. */
export async function ensureCompiled() {
  const srcDir = join(ROOT, 'src');
  let sig = '';
  try {
    sig = readFileSync(STAMP, 'utf8');
  } catch {}
  if (!existsSync(srcDir)) return pathToFileURL(cliEntry(sig)).href;
  const files = tsFiles(srcDir);
  let key = '';
  try {
    key = statKey(files);
    if (sig && readFileSync(STAT_STAMP, 'utf8') === `${sig}\n${key}` && existsSync(cliEntry(sig))) return pathToFileURL(cliEntry(sig)).href;
  } catch {}
  const now = signature(files);
  if (now === sig && existsSync(cliEntry(sig))) {
    try {
      if (key) writeAtomically(STAT_STAMP, `${sig}\n${key}`);
    } catch {}
    return pathToFileURL(cliEntry(sig)).href;
  }
  try {
    const entry = await compileCli(now);
    try {
      // The stats were taken before the sources were read: a file written since then fails the fast path next time.
      if (key) writeAtomically(STAT_STAMP, `${now}\n${key}`);
    } catch {}
    return pathToFileURL(entry).href;
  } catch (e) {
    // A read-only install with a complete dist/ still runs; anything else is reported.
    if (sig && existsSync(cliEntry(sig))) return pathToFileURL(cliEntry(sig)).href;
    throw e;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = await compile(process.argv.length > 2 ? process.argv.slice(2) : undefined);
  await compileCli(signature(tsFiles(join(ROOT, 'src'))));
  process.stdout.write(`compiled ${n} modules to dist/ and bundled the command into dist/cli/\n`);
}
