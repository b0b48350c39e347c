// Layers around the generated kernels: one direction, bidirectional, and stacks, forward and BPTT.

import { type AnyKernels, type Arr, asAny, type Kernels } from './types.js';

export interface Direction<A extends Arr> {
  readonly kernels: AnyKernels<A>;
  readonly sizes: Record<string, number>;
  readonly params: Record<string, A>;
}

/**
 * A recurrent layer; with `backward` it is bidirectional and its output is [h_forward, h_backward].
 * With `reverse` (and no `backward`) its one direction, `forward`, reads each sequence from its end, as
 * ONNX's direction="reverse": it runs on the rows reversed in time and its output is reversed back, so
 * out[t] is the state after reading x[L-1] .. x[t]. Its LayerRun states stay in the order it ran.
 */
export interface Layer<A extends Arr> {
  readonly forward: Direction<A>;
  readonly backward?: Direction<A>;
  readonly reverse?: boolean;
}

function checkReverse(layer: Layer<Arr>): void {
  if (layer.reverse && layer.backward) throw new Error('a layer is bidirectional (backward) or reverse, not both');
}

export function direction<A extends Arr>(kernels: Kernels<A>, sizes: Record<string, number>, params: Record<string, A>): Direction<A> {
  return { kernels: asAny(kernels), sizes, params };
}

const inputName = (d: Direction<Arr>): string => Object.keys(d.kernels.cell.inputs)[0]!;
const stateSize = (d: Direction<Arr>, s: string): number => d.sizes[d.kernels.cell.states[s]!]!;
export const outputSize = (l: Layer<Arr>): number =>
  stateSize(l.forward, l.forward.kernels.cell.output) + (l.backward ? stateSize(l.backward, l.backward.kernels.cell.output) : 0);
export const inputSize = (l: Layer<Arr>): number => l.forward.sizes[l.forward.kernels.cell.inputs[inputName(l.forward)]!]!;

/** Reverses each row's first lengths[b] steps in time ([T][B][n]); padding stays where it is. */
export function reverseRows<A extends Arr>(x: A, steps: number, batch: number, n: number, lengths?: Int32Array): A {
  const out = x.slice() as A;
  for (let b = 0; b < batch; b++) {
    const L = lengths ? lengths[b]! : steps;
    for (let t = 0; t < L; t++) out.set(x.subarray(((L - 1 - t) * batch + b) * n, ((L - 1 - t) * batch + b + 1) * n), (t * batch + b) * n);
  }
  return out;
}

export interface DirectionRun<A extends Arr> {
  readonly states: Record<string, A>;
  readonly tape: unknown;
}

export interface LayerRun<A extends Arr> {
  /** [T][B][outputSize]: the output state, both directions side by side. */
  readonly out: A;
  readonly fw: DirectionRun<A>;
  readonly bw?: DirectionRun<A>;
}

export interface SequenceShape {
  readonly steps: number;
  readonly batch: number;
  readonly lengths?: Int32Array;
  /**
   * Sequences (inputs, outputs, their gradients, targets) are [B][T][n] instead of [T][B][n], as
   * with PyTorch's batch_first=True. States inside a LayerRun stay [T][B][n].
   */
  readonly batchFirst?: boolean;
}

/** Initial states of a layer, by state name, per direction ([B][n] each); zeros where absent. */
export interface LayerInit<A extends Arr> {
  readonly forward?: Partial<Record<string, A>>;
  readonly backward?: Partial<Record<string, A>>;
}

/** [d0][d1][n] -> [d1][d0][n]: between batch-first and time-major layouts. */
export function swapLeading<A extends Arr>(x: A, d0: number, d1: number, n: number): A {
  const out = new (x.constructor as { new (n: number): A })(x.length);
  for (let i = 0; i < d0; i++) for (let j = 0; j < d1; j++) out.set(x.subarray((i * d1 + j) * n, (i * d1 + j + 1) * n), (j * d0 + i) * n);
  return out;
}

/** Zeroes the padded steps of a [T][B][n] sequence, as ONNX does for Y. */
export function maskPadding<A extends Arr>(y: A, shape: SequenceShape, n: number): A {
  if (!shape.lengths) return y;
  for (let t = 0; t < shape.steps; t++) for (let b = 0; b < shape.batch; b++) if (t >= shape.lengths[b]!) y.fill(0, (t * shape.batch + b) * n, (t * shape.batch + b + 1) * n);
  return y;
}

export function runLayer<A extends Arr>(layer: Layer<A>, x: A, shape: SequenceShape, init?: LayerInit<A>): LayerRun<A> {
  const { steps, batch, lengths } = shape;
  if (shape.batchFirst) {
    const r = runLayer(layer, swapLeading(x, batch, steps, inputSize(layer)), { ...shape, batchFirst: false }, init);
    return { ...r, out: swapLeading(r.out, steps, batch, outputSize(layer)) };
  }
  checkReverse(layer);
  if (layer.reverse) {
    const r = runLayer({ forward: layer.forward }, reverseRows(x, steps, batch, inputSize(layer), lengths), shape, init);
    return { ...r, out: reverseRows(r.out, steps, batch, outputSize(layer), lengths) };
  }
  const f = layer.forward;
  const I = inputSize(layer);
  const fw = f.kernels.forward(f.sizes, f.params, { [inputName(f)]: x }, { steps, batch, init: init?.forward, lengths });
  const hf = stateSize(f, f.kernels.cell.output);
  let bw: DirectionRun<A> | undefined;
  let hb = 0;
  let yb: A | undefined;
  if (layer.backward) {
    const b = layer.backward;
    bw = b.kernels.forward(b.sizes, b.params, { [inputName(b)]: reverseRows(x, steps, batch, I, lengths) }, { steps, batch, init: init?.backward, lengths });
    hb = stateSize(b, b.kernels.cell.output);
    yb = reverseRows(bw.states[b.kernels.cell.output]!, steps, batch, hb, lengths);
  }
  const yf = fw.states[f.kernels.cell.output]!;
  let out: A;
  if (!yb) out = yf;
  else {
    out = new (yf.constructor as { new (n: number): A })(steps * batch * (hf + hb));
    for (let r = 0; r < steps * batch; r++) {
      out.set(yf.subarray(r * hf, (r + 1) * hf), r * (hf + hb));
      out.set(yb.subarray(r * hb, (r + 1) * hb), r * (hf + hb) + hf);
    }
  }
  return { out, fw, bw };
}

export interface LayerGrads<A extends Arr> {
  readonly forward: Record<string, A>;
  readonly backward?: Record<string, A>;
  /** dL/dx, [T][B][input]. */
  readonly dx: A;
  readonly dInit: { forward: Record<string, A>; backward?: Record<string, A> };
}

/** BPTT through a layer given dL/d(out) at every step (and, optionally, dL/d(other states)). */
export function backLayer<A extends Arr>(layer: Layer<A>, run: LayerRun<A>, dOut: A, shape: SequenceShape): LayerGrads<A> {
  const { steps, batch, lengths } = shape;
  if (shape.batchFirst) {
    const g = backLayer(layer, run, swapLeading(dOut, batch, steps, outputSize(layer)), { ...shape, batchFirst: false });
    return { ...g, dx: swapLeading(g.dx, steps, batch, inputSize(layer)) };
  }
  checkReverse(layer);
  if (layer.reverse) {
    const g = backLayer({ forward: layer.forward }, run, reverseRows(dOut, steps, batch, outputSize(layer), lengths), shape);
    return { ...g, dx: reverseRows(g.dx, steps, batch, inputSize(layer), lengths) };
  }
  const f = layer.forward;
  const hf = stateSize(f, f.kernels.cell.output);
  const hb = layer.backward ? stateSize(layer.backward, layer.backward.kernels.cell.output) : 0;
  const H = hf + hb;
  const Ctor = dOut.constructor as { new (n: number): A };
  const split = (off: number, n: number): A => {
    if (!layer.backward) return dOut;
    const d = new Ctor(steps * batch * n);
    for (let r = 0; r < steps * batch; r++) d.set(dOut.subarray(r * H + off, r * H + off + n), r * n);
    return d;
  };
  const gf = f.kernels.backward(run.fw.tape, { [f.kernels.cell.output]: split(0, hf) });
  const dx = gf.inputs[inputName(f)]!;
  let gb: ReturnType<typeof f.kernels.backward> | undefined;
  if (layer.backward && run.bw) {
    const b = layer.backward;
    const I = inputSize(layer);
    gb = b.kernels.backward(run.bw.tape, { [b.kernels.cell.output]: reverseRows(split(hf, hb), steps, batch, hb, lengths) });
    const dxb = reverseRows(gb.inputs[inputName(b)]!, steps, batch, I, lengths);
    for (let i = 0; i < dx.length; i++) dx[i] += dxb[i]!;
  }
  return { forward: gf.params, backward: gb?.params, dx, dInit: { forward: gf.init, backward: gb?.init } };
}

/** A stack of layers: layer l reads layer l-1's output; init[l] are layer l's initial states. */
export function runStack<A extends Arr>(layers: readonly Layer<A>[], x: A, shape: SequenceShape, init?: readonly (LayerInit<A> | undefined)[]): LayerRun<A>[] {
  if (init && init.length > layers.length) throw new Error(`initial states for ${init.length} layers, but the stack has ${layers.length}`);
  const runs: LayerRun<A>[] = [];
  let input = x;
  for (const [i, l] of layers.entries()) {
    if (i > 0 && inputSize(l) !== outputSize(layers[i - 1]!)) throw new Error(`layer ${i} reads ${inputSize(l)} features but layer ${i - 1} gives ${outputSize(layers[i - 1]!)}`);
    const r = runLayer(l, input, shape, init?.[i]);
    runs.push(r);
    input = r.out;
  }
  return runs;
}

export function backStack<A extends Arr>(layers: readonly Layer<A>[], runs: readonly LayerRun<A>[], dTop: A, shape: SequenceShape): LayerGrads<A>[] {
  const grads: LayerGrads<A>[] = [];
  let d = dTop;
  for (let i = layers.length - 1; i >= 0; i--) {
    const g = backLayer(layers[i]!, runs[i]!, d, shape);
    grads.unshift(g);
    d = g.dx;
  }
  return grads;
}
