// The WebGPU runtime that generated WGSL modules import, copied into the output folder (as protoc
// copies nothing but needs nothing): output/wgsl/runtime/ holds every module of cellgen's
// src/runtime/webgpu/, so generated code imports only files of its own output folder.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder, relative to the output's wgsl/ folder, that generated WGSL modules import the runtime from. */
export const RUNTIME_DIR = 'runtime';

function sourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'src', 'runtime', 'webgpu');
    if (existsSync(join(candidate, 'index.ts'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`invariant: src/runtime/webgpu/index.ts not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Every runtime module (path under wgsl/, text), with a header naming where it came from. */
export function runtimeFiles(command: string): [string, string][] {
  const dir = sourceDir();
  const out: [string, string][] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = readFileSync(join(dir, r), 'utf8');
        for (const m of text.matchAll(/\bfrom\s+'(\.[^']*)'|\bimport\s*\(\s*'(\.[^']*)'/g)) {
          const target = posix.normalize(posix.join(posix.dirname(r), m[1] ?? m[2]!));
          if (target.startsWith('..')) throw new Error(`invariant: src/runtime/webgpu/${r} imports ${m[1] ?? m[2]}, outside the runtime folder, so it cannot be copied into an output folder`);
        }
        const header = `// Copied by ${command} from cellgen's src/runtime/webgpu/${r}. Do not edit.\n/// <reference types="@webgpu/types" />\n`;
        out.push([`${RUNTIME_DIR}/${r}`, header + text]);
      }
    }
  };
  walk('');
  return out;
}
