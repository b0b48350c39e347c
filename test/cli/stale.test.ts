// The command runs its bundle (dist/cli/) only while the sources are the ones it was bundled from: a changed source
// is bundled again before the command runs, also when the check takes its fast path (file sizes, times, inodes):
// a write keeps the size, the modification time and the inode here, and still counts.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'cellgen-stale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const help = (): string => execFileSync(process.execPath, [join(dir, 'bin', 'cellgen.js'), '--help'], { cwd: dir, encoding: 'utf8' });

describe('the bundled command', () => {
  it('is bundled again when a source changes, and only then', () => {
    for (const d of ['bin', 'src', 'templates']) cpSync(join(repo, d), join(dir, d), { recursive: true });
    cpSync(join(repo, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    const main = join(dir, 'src', 'cli', 'main.ts');
    // A whole second, which the file system keeps exactly.
    const T = 1_700_000_000;
    utimesSync(main, T, T);
    const before = help();
    expect(before).toContain('Recurrent cell equations');
    const stamp = () => readFileSync(join(dir, 'dist', 'cli', 'current'), 'utf8');
    const first = stamp();
    // Same size, same modification time: only the content tells.
    const text = readFileSync(main, 'utf8');
    const was = statSync(main);
    writeFileSync(main, text.replace('Recurrent cell equations', 'Recurrent cell EQUATIONS'));
    utimesSync(main, T, T);
    const now = statSync(main);
    expect([now.size, now.mtimeMs, now.ino]).toEqual([was.size, was.mtimeMs, was.ino]);
    expect(help()).toContain('Recurrent cell EQUATIONS');
    expect(stamp()).not.toBe(first);
    // Touched without a change: the same bundle.
    const second = stamp();
    utimesSync(main, new Date(), new Date());
    expect(help()).toContain('Recurrent cell EQUATIONS');
    expect(stamp()).toBe(second);
  }, 120_000);
});
