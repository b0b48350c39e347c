// Independent float64 evaluator of the ONNX RNN, GRU and LSTM operators, written from the operator spec.

import type { ActivationName, Direction, F64Tensor, RnnAttrs, RnnInputs, RnnOp, RnnOutputs, Tensor } from '../../runtime/onnx/operator.js';

export type { ActivationName, Direction, F64Tensor, RnnAttrs, RnnInputs, RnnOp, RnnOutputs, Tensor };

/** Gate blocks per op, in the order they are stacked along W/R/B rows. */
export const GATES: Record<RnnOp, readonly string[]> = {
  RNN: ['i'],
  GRU: ['z', 'r', 'h'],
  LSTM: ['i', 'o', 'f', 'c'],
};

const DEFAULT_ACTIVATIONS: Record<RnnOp, ActivationName[]> = {
  RNN: ['Tanh'],
  GRU: ['Sigmoid', 'Tanh'],
  LSTM: ['Sigmoid', 'Tanh', 'Tanh'],
};

const ACTIVATIONS: Record<ActivationName, (v: number) => number> = {
  Tanh: Math.tanh,
  Sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  Relu: (v) => Math.max(0, v),
  Softsign: (v) => v / (1 + Math.abs(v)),
  Softplus: (v) => Math.log1p(Math.exp(v)),
};

/** Evaluate one RNN/GRU/LSTM node in float64. */
export function rnnReference(op: RnnOp, inputs: RnnInputs, attrs: RnnAttrs): RnnOutputs {
  const H = attrs.hiddenSize;
  const G = GATES[op].length;
  const direction = attrs.direction ?? 'forward';
  const D = direction === 'bidirectional' ? 2 : 1;
  const layout = attrs.layout ?? 0;
  const [d0, d1, I] = expectRank(inputs.X, 3, 'X');
  const [S, N] = layout === 0 ? [d0, d1] : [d1, d0];
  expectDims(inputs.W, [D, G * H, I], 'W');
  expectDims(inputs.R, [D, G * H, H], 'R');
  if (inputs.B) expectDims(inputs.B, [D, 2 * G * H], 'B');
  if (inputs.P) {
    if (op !== 'LSTM') throw new Error(`P is an LSTM input, not ${op}`);
    expectDims(inputs.P, [D, 3 * H], 'P');
  }
  const stateDims = layout === 0 ? [D, N, H] : [N, D, H];
  if (inputs.initialH) expectDims(inputs.initialH, stateDims, 'initial_h');
  if (inputs.initialC) expectDims(inputs.initialC, stateDims, 'initial_c');
  if (inputs.sequenceLens && inputs.sequenceLens.length !== N) throw new Error(`sequence_lens has ${inputs.sequenceLens.length} entries, batch is ${N}`);

  const nAct = DEFAULT_ACTIVATIONS[op].length;
  const actNames = attrs.activations ?? [...DEFAULT_ACTIVATIONS[op], ...(D === 2 ? DEFAULT_ACTIVATIONS[op] : [])];
  if (actNames.length !== nAct * D) throw new Error(`${op} needs ${nAct * D} activations, got ${actNames.length}`);
  const acts = actNames.map((a) => {
    const fn = ACTIVATIONS[a];
    if (!fn) throw new Error(`unsupported activation '${a}'`);
    return fn;
  });
  const clip = attrs.clip;
  const pre = clip === undefined ? (v: number) => v : (v: number) => Math.min(clip, Math.max(-clip, v));

  const X = inputs.X.data;
  const xIndex = (t: number, b: number) => (layout === 0 ? t * N + b : b * S + t) * I;
  const stateIndex = (d: number, b: number) => (layout === 0 ? d * N + b : b * D + d) * H;
  const yIndex = (t: number, d: number, b: number) => (layout === 0 ? (t * D + d) * N + b : (b * S + t) * D + d) * H;

  const Y = new Float64Array(S * D * N * H);
  const Yh = new Float64Array(D * N * H);
  const Yc = new Float64Array(D * N * H);

  for (let d = 0; d < D; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const [f, g, h] = [acts[d * nAct]!, acts[d * nAct + 1]!, acts[d * nAct + 2]!];
    // W_g x + Wb_g for gate block gi, row j of direction d.
    const wx = (gi: number, j: number, xo: number) => {
      const row = (d * G + gi) * H + j;
      let s = inputs.B ? inputs.B.data[d * 2 * G * H + gi * H + j]! : 0;
      for (let k = 0; k < I; k++) s += inputs.W.data[row * I + k]! * X[xo + k]!;
      return s;
    };
    // R_g v + Rb_g.
    const rh = (gi: number, j: number, v: Float64Array) => {
      const row = (d * G + gi) * H + j;
      let s = inputs.B ? inputs.B.data[d * 2 * G * H + G * H + gi * H + j]! : 0;
      for (let k = 0; k < H; k++) s += inputs.R.data[row * H + k]! * v[k]!;
      return s;
    };
    const peep = (which: 0 | 1 | 2, j: number) => (inputs.P ? inputs.P.data[d * 3 * H + which * H + j]! : 0);

    for (let b = 0; b < N; b++) {
      const len = inputs.sequenceLens ? inputs.sequenceLens[b]! : S;
      // The spec leaves a zero-length sequence's Y_h undefined, so refuse it rather than guess.
      if (!(len >= 1 && len <= S)) throw new Error(`sequence_lens[${b}] = ${len} is outside [1, ${S}]`);
      const hPrev = new Float64Array(H);
      const cPrev = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        if (inputs.initialH) hPrev[j] = inputs.initialH.data[stateIndex(d, b) + j]!;
        if (inputs.initialC) cPrev[j] = inputs.initialC.data[stateIndex(d, b) + j]!;
      }
      const hNew = new Float64Array(H);
      const cNew = new Float64Array(H);
      for (let s = 0; s < len; s++) {
        const t = reverse ? len - 1 - s : s;
        const xo = xIndex(t, b);
        if (op === 'RNN') {
          // H_t = f(W x + R H_{t-1} + Wb + Rb)
          for (let j = 0; j < H; j++) hNew[j] = f(pre(wx(0, j, xo) + rh(0, j, hPrev)));
        } else if (op === 'GRU') {
          const z = new Float64Array(H);
          const r = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            z[j] = f(pre(wx(0, j, xo) + rh(0, j, hPrev)));
            r[j] = f(pre(wx(1, j, xo) + rh(1, j, hPrev)));
          }
          const rTimesH = hPrev.map((v, j) => r[j]! * v);
          for (let j = 0; j < H; j++) {
            // lbr=0: h~ = g(W_h x + Wbh + R_h (r ⊙ H_{t-1}) + Rbh); lbr=1: h~ = g(W_h x + Wbh + r ⊙ (R_h H_{t-1} + Rbh))
            const cand = attrs.linearBeforeReset ? g(pre(wx(2, j, xo) + r[j]! * rh(2, j, hPrev))) : g(pre(wx(2, j, xo) + rh(2, j, rTimesH)));
            // H_t = (1 - z) ⊙ h~ + z ⊙ H_{t-1}
            hNew[j] = (1 - z[j]!) * cand + z[j]! * hPrev[j]!;
          }
        } else {
          for (let j = 0; j < H; j++) {
            // i = f(W_i x + R_i H + P_i ⊙ C_{t-1} + b); f likewise with P_f, or 1 - i when input_forget
            const ig = f(pre(wx(0, j, xo) + rh(0, j, hPrev) + peep(0, j) * cPrev[j]!));
            const fg = attrs.inputForget ? 1 - ig : f(pre(wx(2, j, xo) + rh(2, j, hPrev) + peep(2, j) * cPrev[j]!));
            const cc = g(pre(wx(3, j, xo) + rh(3, j, hPrev)));
            // C_t = f ⊙ C_{t-1} + i ⊙ c~;  o = f(W_o x + R_o H + P_o ⊙ C_t + b);  H_t = o ⊙ h(C_t)
            cNew[j] = fg * cPrev[j]! + ig * cc;
            const og = f(pre(wx(1, j, xo) + rh(1, j, hPrev) + peep(1, j) * cNew[j]!));
            hNew[j] = og * h(cNew[j]!);
          }
          cPrev.set(cNew);
        }
        hPrev.set(hNew);
        Y.set(hPrev, yIndex(t, d, b));
      }
      Yh.set(hPrev, stateIndex(d, b));
      Yc.set(cPrev, stateIndex(d, b));
    }
  }
  const yDims = layout === 0 ? [S, D, N, H] : [N, S, D, H];
  const out: RnnOutputs = { Y: { dims: yDims, data: Y }, Y_h: { dims: stateDims, data: Yh } };
  if (op === 'LSTM') out.Y_c = { dims: stateDims, data: Yc };
  return out;
}

function expectRank(t: Tensor, rank: number, name: string): number[] {
  if (t.dims.length !== rank) throw new Error(`${name} must have rank ${rank}, got dims [${t.dims}]`);
  checkSize(t, name);
  return t.dims;
}

function expectDims(t: Tensor, dims: number[], name: string): void {
  if (t.dims.length !== dims.length || t.dims.some((v, k) => v !== dims[k])) {
    throw new Error(`${name} must have dims [${dims}], got [${t.dims}]`);
  }
  checkSize(t, name);
}

function checkSize(t: Tensor, name: string): void {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`${name} has ${t.data.length} values for dims [${t.dims}]`);
}
