// The softmax cross-entropy readout of the notes: ŷ_t = softmax(W_y h_t + b_y), L = -Σ_t y_tᵀ log ŷ_t.

export interface ReadoutResult {
  loss: number;
  /** dL/dh_t, [T][batch × H]. */
  dH: Float64Array;
  dW: Float64Array;
  db: Float64Array;
  /** ŷ, [T][batch × K]. */
  probs: Float64Array;
}

/**
 * h: [T·batch × H]; W: [K × H]; b: [K]; targets: class index per (t, b), or -1 for a step with no loss.
 * dlogits = ŷ - y, so dh = W_yᵀ (ŷ - y), dW_y = Σ (ŷ - y) hᵀ, db_y = Σ (ŷ - y).
 */
export function softmaxCrossEntropy(h: Float64Array, W: Float64Array, b: Float64Array, targets: Int32Array, H: number, K: number): ReadoutResult {
  const rows = targets.length;
  const dH = new Float64Array(rows * H);
  const dW = new Float64Array(K * H);
  const db = new Float64Array(K);
  const probs = new Float64Array(rows * K);
  const z = new Float64Array(K);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = b[k]!;
      for (let j = 0; j < H; j++) s += W[k * H + j]! * h[r * H + j]!;
      z[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(z[k]! - max);
    const y = targets[r]!;
    for (let k = 0; k < K; k++) probs[r * K + k] = Math.exp(z[k]! - max) / sum;
    if (y < 0) continue;
    loss -= z[y]! - max - Math.log(sum);
    for (let k = 0; k < K; k++) {
      const g = probs[r * K + k]! - (k === y ? 1 : 0);
      db[k] += g;
      for (let j = 0; j < H; j++) {
        dW[k * H + j] += g * h[r * H + j]!;
        dH[r * H + j] += g * W[k * H + j]!;
      }
    }
  }
  return { loss, dH, dW, db, probs };
}
