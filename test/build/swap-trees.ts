// The two trees of the swap test: the old one (with a file the build keeps) and the new one.
import type { FileTree } from '../../src/build/files.js';

export const oldTree = (): FileTree => new Map<string, string>([['ts/a.ts', 'old a'], ['ts/gone.ts', 'old only'], ['docs/index.html', 'old index'], ['kept/user.txt', 'kept']]);
export const newTree = (): FileTree => new Map<string, string>([['ts/a.ts', 'new a'], ['ts/b.ts', 'new b'], ['docs/index.html', 'new index'], ['latex/c.tex', 'new c']]);
