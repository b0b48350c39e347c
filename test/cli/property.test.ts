// Random mutations of valid specs through the whole build: a diagnostic or success, never a crash or a partial output.

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listFiles } from '../../src/build/files.js';
import { main } from '../../src/cli/main.js';

const snapshot = (dir: string) => listFiles(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]);

describe('cellgen build under mutated specs', () => {
  it('ends in success or a diagnostic, and a failed build leaves the output folder untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-prop-'));
    const out = join(dir, 'out');
    cpSync('cells/gru.cell.yaml', join(dir, 'gru.cell.yaml'));
    cpSync('cells/lstm-peephole.cell.yaml', join(dir, 'lstm-peephole.cell.yaml'));
    const args = ['build', '--no-verify', '--no-docs', '--cells', dir, '--out', out];
    const quiet = <T>(f: () => Promise<T>): Promise<T> => {
      const w = process.stderr.write.bind(process.stderr);
      const o = process.stdout.write.bind(process.stdout);
      process.stderr.write = (() => true) as typeof process.stderr.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      return f().finally(() => ((process.stderr.write = w), (process.stdout.write = o)));
    };
    expect(await quiet(() => main(args))).toBe(0);
    const originals = { gru: readFileSync('cells/gru.cell.yaml', 'utf8'), 'lstm-peephole': readFileSync('cells/lstm-peephole.cell.yaml', 'utf8') };
    const mutation = fc.record({
      cell: fc.constantFrom('gru', 'lstm-peephole') as fc.Arbitrary<'gru' | 'lstm-peephole'>,
      at: fc.nat(),
      kind: fc.constantFrom('delete-line', 'delete-char', 'insert', 'rename'),
      text: fc.constantFrom('*', '.*', ')', '(', ':', 'h_prev', 'W_z', 'x', '  ', '\n', '-', 'concat(', 'q', '[hidden, hidden]', 'floor(', '1e9'),
    });
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const src = originals[m.cell];
        const i = m.at % src.length;
        let text: string;
        if (m.kind === 'delete-line') {
          const lines = src.split('\n');
          lines.splice(m.at % lines.length, 1);
          text = lines.join('\n');
        } else if (m.kind === 'delete-char') text = src.slice(0, i) + src.slice(i + 1);
        else if (m.kind === 'insert') text = src.slice(0, i) + m.text + src.slice(i);
        else text = src.replace(/\bh_prev\b/, m.text);
        const before = snapshot(out);
        writeFileSync(join(dir, `${m.cell}.cell.yaml`), text);
        const code = await quiet(() => main(args));
        writeFileSync(join(dir, `${m.cell}.cell.yaml`), src);
        expect([0, 1]).toContain(code);
        if (code === 1) {
          failures++;
          expect(snapshot(out)).toEqual(before);
        }
      }),
      { numRuns: 12, seed: 20261121 },
    );
    expect(failures).toBeGreaterThan(0);
  }, 300_000);
});
