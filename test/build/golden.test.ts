// Golden files: the committed generated/ tree is exactly what a fresh build produces, and builds are deterministic.

import { describe, expect, it } from 'vitest';
import { build } from '../../src/build/build.js';
import { diffTree } from '../../src/build/files.js';

describe('generated/', () => {
  it('matches a fresh build byte for byte, and two builds are identical', async () => {
    const a = await build({ cellsDir: 'cells', verify: false, docs: true, log: () => {} });
    const d = diffTree(a.tree, 'generated', a.owns);
    expect(d, 'run `npx cellgen build` and commit generated/').toEqual({ changed: [], missing: [], extra: [] });
    const b = await build({ cellsDir: 'cells', verify: false, docs: true, log: () => {} });
    expect([...b.tree.keys()]).toEqual([...a.tree.keys()]);
    for (const [k, v] of a.tree) expect(b.tree.get(k), k).toEqual(v);
  }, 600_000); // two full builds with the docs site (plots, every page): minutes on a loaded 2-core machine
});
