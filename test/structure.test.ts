// One stage per folder under src/, imports one way: the graph of folder-to-folder imports has no cycle (a folder may
// import its own subfolders' files, and src/text, which imports nothing, from anywhere). Type-only imports count too.
// And no source file under src/ is longer than MAX_LINES: a longer one is split along its seams.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');
const MAX_LINES = 400;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The stage a file belongs to: its first folder under src/ (src/index.ts is the package entry, not a stage). */
const stage = (file: string): string | undefined => {
  const parts = relative(SRC, file).split(/[\\/]/);
  return parts.length > 1 ? parts[0] : undefined;
};

/** Stage -> stages it imports, with one importing file per edge for the message. */
function graph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const f of files(SRC)) {
    const from = stage(f);
    if (!from) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const to = stage(resolve(dirname(f), (m[1] ?? m[2])!));
      if (!to || to === from) continue;
      if (!g.has(from)) g.set(from, new Map());
      if (!g.get(from)!.has(to)) g.get(from)!.set(to, relative(SRC, f));
    }
  }
  return g;
}

/** A cycle as a list of stages (first = last), or undefined. */
function findCycle(g: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of g.get(n)?.keys() ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('the folders under src/', () => {
  const g = graph();

  it('are found with their imports', () => {
    expect(g.get('emit')?.has('ir')).toBe(true);
    expect(findCycle(new Map([['a', new Map([['b', 'x']])], ['b', new Map([['a', 'y']])]]))).toEqual(['a', 'b', 'a']);
  });

  it('import each other one way only (no cycle)', () => {
    const cycle = findCycle(g);
    const why = cycle?.slice(1).map((to, i) => `${cycle[i]} -> ${to} (${g.get(cycle[i]!)!.get(to)})`).join(', ');
    expect(why).toBeUndefined();
  });

  it('the runtime does not import the checks', () => {
    expect([...(g.get('runtime')?.keys() ?? [])].filter((s) => s === 'check')).toEqual([]);
  });

  it('src/text imports no other stage', () => {
    expect([...(g.get('text')?.keys() ?? [])]).toEqual([]);
  });

  it(`hold no source file over ${MAX_LINES} lines`, () => {
    const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const long = files(SRC).map((f) => ({ file: relative(SRC, f), lines: lines(readFileSync(f, 'utf8')) })).filter((f) => f.lines > MAX_LINES);
    expect(files(SRC).length).toBeGreaterThan(10);
    expect(long).toEqual([]);
  });
});
