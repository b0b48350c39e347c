// PyTorch nn.RNN / nn.GRU / nn.LSTM state_dict tensors <-> runtime layers of generated kernels.
//
//   nn.RNN(nonlinearity='tanh'|'relu')  rnn-tanh | rnn-relu  gates: one block
//   nn.GRU                               gru-reset-after      gates r, z, n (n: b_hn inside r ⊙ (W_hn h + b_hn))
//   nn.LSTM                              lstm                 gates i, f, g, o
//
// weight_ih_l{k}[_reverse] is [G·H, I_k], weight_hh_l{k}[_reverse] is [G·H, H], bias_ih / bias_hh are
// [G·H], gate blocks stacked in the order above; I_0 = input_size, I_k = H·directions. A cell's bias
// is bias_ih + bias_hh of its gate, except the GRU candidate, whose b_hn stays apart (b_uh).
// Kernels are matched by their parameter names, so a renamed copy of a shipped cell fits too.

import { type Direction, direction, type Layer } from './layers.js';
import type { KernelsByPrecision } from './onnx.js';
import type { Arr, Kernels } from './types.js';

export type TorchMode = 'RNN' | 'GRU' | 'LSTM';

/** One tensor of a state_dict: row-major data and its shape (as `tensor.flatten().tolist()` and `tensor.shape`). */
export interface TorchTensor<A extends ArrayLike<number> = ArrayLike<number>> {
  readonly dims: readonly number[];
  readonly data: A;
}

export interface TorchShape {
  readonly mode: TorchMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers?: number;
  readonly bidirectional?: boolean;
  /** nn.RNN's nonlinearity; pick the matching kernels (rnn-tanh or rnn-relu). */
  readonly nonlinearity?: 'tanh' | 'relu';
  /** nn.*(bias=False): no bias tensors. */
  readonly bias?: boolean;
}

/** The cell's parameter suffix of each PyTorch gate block, in PyTorch's order. */
export const TORCH_GATES: Record<TorchMode, readonly string[]> = {
  RNN: [''],
  GRU: ['_r', '_z', '_h'],
  LSTM: ['_i', '_f', '_c', '_o'],
};

/** The shipped cell that computes each PyTorch module. */
export const TORCH_CELLS = { 'RNN/tanh': 'rnn-tanh', 'RNN/relu': 'rnn-relu', GRU: 'gru-reset-after', LSTM: 'lstm' } as const;

function expectedParams(mode: TorchMode): string[] {
  const g = TORCH_GATES[mode];
  return [...g.map((s) => `W${s}`), ...g.map((s) => `U${s}`), ...g.map((s) => `b${s}`), ...(mode === 'GRU' ? ['b_uh'] : [])].sort();
}

function checkKernels(k: Kernels<Arr>, mode: TorchMode): void {
  const have = Object.keys(k.cell.params).sort();
  const want = expectedParams(mode);
  if (have.join() !== want.join())
    throw new Error(`cell '${k.cell.name}' has parameters ${have.join(', ')}; PyTorch's nn.${mode} needs a cell with ${want.join(', ')} (${mode === 'RNN' ? 'rnn-tanh or rnn-relu' : mode === 'GRU' ? 'gru-reset-after' : 'lstm'})`);
}

const suffix = (layer: number, reverse: boolean) => `_l${layer}${reverse ? '_reverse' : ''}`;

function tensor(sd: Readonly<Record<string, TorchTensor | ArrayLike<number>>>, name: string, n: number): ArrayLike<number> {
  const t = sd[name];
  if (t === undefined) throw new Error(`state_dict has no '${name}'`);
  const data = 'data' in t && 'dims' in t ? t.data : (t as ArrayLike<number>);
  if (data.length !== n) throw new Error(`state_dict '${name}' has ${data.length} values, expected ${n}`);
  return data;
}

/**
 * The layers of a PyTorch RNN/GRU/LSTM from its state_dict (keys without a module prefix, e.g.
 * `weight_ih_l0`). `kernels` is the generated module of the matching cell (`import * as gru from
 * 'cellgen/cells/gru-reset-after'`); run the layers with batchFirst: true for batch_first=True models.
 */
export function layersFromTorch(kernels: KernelsByPrecision, stateDict: TorchStateDict, shape: TorchShape & { readonly precision?: 'f32' }): Layer<Float32Array>[];
export function layersFromTorch(kernels: KernelsByPrecision, stateDict: TorchStateDict, shape: TorchShape & { readonly precision: 'f64' }): Layer<Float64Array>[];
export function layersFromTorch(kernels: KernelsByPrecision, stateDict: TorchStateDict, shape: TorchShape & { readonly precision?: 'f32' | 'f64' }): Layer<Arr>[] {
  return shape.precision === 'f64' ? build(kernels.f64, Float64Array, stateDict, shape) : build(kernels.f32, Float32Array, stateDict, shape);
}

type TorchStateDict = Readonly<Record<string, TorchTensor | ArrayLike<number>>>;

function build<A extends Arr>(kernels: Kernels<A>, Ctor: { new (n: number): A }, stateDict: TorchStateDict, shape: TorchShape): Layer<A>[] {
  checkKernels(kernels as unknown as Kernels<Arr>, shape.mode);
  const gates = TORCH_GATES[shape.mode];
  const G = gates.length;
  const H = shape.hiddenSize;
  const D = shape.bidirectional ? 2 : 1;
  const layers: Layer<A>[] = [];
  const sample = kernels.paramShapes as unknown as (s: Record<string, number>) => Record<string, readonly number[]>;
  for (let l = 0; l < (shape.numLayers ?? 1); l++) {
    const I = l === 0 ? shape.inputSize : H * D;
    const dirs: Direction<A>[] = [];
    for (let d = 0; d < D; d++) {
      const sfx = suffix(l, d === 1);
      const Wih = tensor(stateDict, `weight_ih${sfx}`, G * H * I);
      const Whh = tensor(stateDict, `weight_hh${sfx}`, G * H * H);
      const bih = shape.bias === false ? new Float64Array(G * H) : tensor(stateDict, `bias_ih${sfx}`, G * H);
      const bhh = shape.bias === false ? new Float64Array(G * H) : tensor(stateDict, `bias_hh${sfx}`, G * H);
      const slice = (src: ArrayLike<number>, from: number, n: number): A => {
        const out = new Ctor(n);
        for (let i = 0; i < n; i++) out[i] = src[from + i]!;
        return out;
      };
      const params: Record<string, A> = {};
      gates.forEach((g, k) => {
        params[`W${g}`] = slice(Wih, k * H * I, H * I);
        params[`U${g}`] = slice(Whh, k * H * H, H * H);
        const bi = slice(bih, k * H, H);
        const bh = slice(bhh, k * H, H);
        if (shape.mode === 'GRU' && g === '_h') {
          params.b_h = bi;
          params.b_uh = bh;
        } else params[`b${g}`] = bi.map((v, j) => v + bh[j]!) as A;
      });
      const sizes: Record<string, number> = Object.fromEntries(kernels.cell.sizes.map((s) => [s, 1]));
      sizes.input = I;
      sizes.hidden = H;
      const shapes = sample(sizes);
      for (const [name, dims] of Object.entries(shapes)) if (params[name]!.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`cell '${kernels.cell.name}' parameter '${name}' does not fit nn.${shape.mode} sizes`);
      dirs.push(direction(kernels, sizes, params));
    }
    layers.push(dirs[1] ? { forward: dirs[0]!, backward: dirs[1] } : { forward: dirs[0]! });
  }
  return layers;
}

/** The state_dict of layers made from (or shaped like) a PyTorch module; bias_hh holds only b_hn (GRU), else zeros. */
export function layersToTorch<A extends Arr>(layers: readonly Layer<A>[], mode: TorchMode): Record<string, TorchTensor<A>> {
  const gates = TORCH_GATES[mode];
  const G = gates.length;
  const out: Record<string, TorchTensor<A>> = {};
  layers.forEach((layer, l) => {
    if (layer.reverse) throw new Error(`layer ${l} reads its sequence in reverse (ONNX direction 'reverse'): PyTorch's RNN modules have no such layer`);
    for (const [d, dir] of (layer.backward ? [layer.forward, layer.backward] : [layer.forward]).entries()) {
      checkKernels(dir.kernels as unknown as Kernels<Arr>, mode);
      const { input: I, hidden: H } = dir.sizes;
      if (I === undefined || H === undefined) throw new Error(`cell '${dir.kernels.cell.name}' has no input/hidden sizes`);
      const first = dir.params[`W${gates[0]}`]!;
      const Ctor = first.constructor as { new (n: number): A };
      const Wih = new Ctor(G * H * I);
      const Whh = new Ctor(G * H * H);
      const bih = new Ctor(G * H);
      const bhh = new Ctor(G * H);
      gates.forEach((g, k) => {
        Wih.set(dir.params[`W${g}`]!, k * H * I);
        Whh.set(dir.params[`U${g}`]!, k * H * H);
        bih.set(dir.params[`b${g}`]!, k * H);
        if (mode === 'GRU' && g === '_h') bhh.set(dir.params.b_uh!, k * H);
      });
      const sfx = suffix(l, d === 1);
      out[`weight_ih${sfx}`] = { dims: [G * H, I], data: Wih };
      out[`weight_hh${sfx}`] = { dims: [G * H, H], data: Whh };
      out[`bias_ih${sfx}`] = { dims: [G * H], data: bih };
      out[`bias_hh${sfx}`] = { dims: [G * H], data: bhh };
    }
  });
  return out;
}
