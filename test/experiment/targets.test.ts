// The training API runs on every CPU target: the same seeded run through the wasm kernels follows the f32 run.

import { describe, expect, it } from 'vitest';
import * as gruMod from '../../generated/ts/gru.js';
import { trainAgreement } from '../../src/experiment/agreement.js';

const cfg = { hidden: 8, steps: 25, batch: 16, lr: 0.01, clipNorm: 1, evalSize: 64, forgetBias: 3 };

describe('training through the wasm kernels', () => {
  it('gives the loss trajectory of the f32 kernels (same seed, same data)', () => {
    const a = trainAgreement(gruMod.f32, 4, cfg, 7);
    const b = trainAgreement(gruMod.wasm, 4, cfg, 7);
    expect(b.history).toHaveLength(a.history.length);
    for (const [i, h] of a.history.entries()) expect(Math.abs(b.history[i]!.loss - h.loss)).toBeLessThan(1e-3 * Math.max(1, h.loss));
    expect(b.history.at(-1)!.loss).toBeLessThan(b.history[0]!.loss);
    expect(gruMod.wasm.backend()).toBe('simd');
  });
});
