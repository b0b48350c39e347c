#!/usr/bin/env node
// Entry point of the `cellgen` command: runs the compiled CLI (dist/), compiling it first when the
// TypeScript sources beside it changed or dist/ is missing (see compile.js).
import { ensureCompiled } from './compile.js';

const { main } = await import(await ensureCompiled());
process.exitCode = await main(process.argv.slice(2));
