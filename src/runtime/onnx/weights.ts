// Convert between ONNX RNN/GRU/LSTM weight tensors (W, R, B, P) and cellgen cell parameter records.
import type { F64Tensor, RnnAttrs, RnnOp, Tensor } from './operator.js';

export type CellName = 'rnn-tanh' | 'rnn-relu' | 'gru' | 'gru-reset-after' | 'lstm' | 'lstm-peephole' | 'lstm-cifg';
/** Row-major parameters of one direction: matrices [H, I] or [H, H], vectors [H]. */
export type CellParams = Record<string, Float64Array>;

interface CellLayout {
  op: RnnOp;
  /** Per ONNX gate block (RNN i; GRU z,r,h; LSTM i,o,f,c): the cell's name suffix, or null when unused. */
  blocks: (string | null)[];
  attrs: Omit<RnnAttrs, 'hiddenSize' | 'direction' | 'layout'>;
  peephole?: boolean;
}

const CELLS: Record<CellName, CellLayout> = {
  'rnn-tanh': { op: 'RNN', blocks: [''], attrs: {} },
  'rnn-relu': { op: 'RNN', blocks: [''], attrs: { activations: ['Relu'] } },
  gru: { op: 'GRU', blocks: ['_z', '_r', '_h'], attrs: { linearBeforeReset: 0 } },
  'gru-reset-after': { op: 'GRU', blocks: ['_z', '_r', '_h'], attrs: { linearBeforeReset: 1 } },
  lstm: { op: 'LSTM', blocks: ['_i', '_o', '_f', '_c'], attrs: {} },
  'lstm-peephole': { op: 'LSTM', blocks: ['_i', '_o', '_f', '_c'], attrs: {}, peephole: true },
  // input_forget=1 makes f = 1 - i, so ONNX's f block is never read.
  'lstm-cifg': { op: 'LSTM', blocks: ['_i', '_o', null, '_c'], attrs: { inputForget: 1 } },
};

/** ONNX P is [dirs, 3H] in the order i, o, f. */
const PEEPHOLES = ['p_i', 'p_o', 'p_f'] as const;

export interface OnnxWeights {
  W: F64Tensor;
  R: F64Tensor;
  B: F64Tensor;
  P?: F64Tensor;
}
export interface OnnxWeightInputs {
  W: Tensor | ArrayLike<number>;
  R: Tensor | ArrayLike<number>;
  B?: Tensor | ArrayLike<number>;
  P?: Tensor | ArrayLike<number>;
}
export interface WeightShape {
  hidden: number;
  input: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
}

/** The ONNX op and attributes (minus hidden size and layout) that evaluate `cell`; activations repeat per direction. */
export function onnxOpForCell(cell: CellName, direction: WeightShape['direction'] = 'forward'): { op: RnnOp; attrs: Omit<RnnAttrs, 'hiddenSize'> } {
  const c = CELLS[cell];
  const attrs: Omit<RnnAttrs, 'hiddenSize'> = { ...c.attrs, direction };
  if (c.attrs.activations && direction === 'bidirectional') attrs.activations = [...c.attrs.activations, ...c.attrs.activations];
  return { op: c.op, attrs };
}

/** The parameter names of `cell`, in a fixed order (W*, U*, b*, then peepholes). */
export function cellParamNames(cell: CellName): string[] {
  const c = CELLS[cell];
  const used = c.blocks.filter((s): s is string => s !== null);
  const names = [...used.map((s) => `W${s}`), ...used.map((s) => `U${s}`), ...used.map((s) => `b${s}`)];
  if (cell === 'gru-reset-after') names.push('b_uh');
  if (c.peephole) names.push(...PEEPHOLES);
  return names;
}

/** Split ONNX W/R/B/P into one cell parameter record per direction (forward first). */
export function onnxToCell(cell: CellName, w: OnnxWeightInputs, shape: WeightShape): CellParams[] {
  const c = CELLS[cell];
  const { hidden: H, input: I } = shape;
  const D = shape.direction === 'bidirectional' ? 2 : 1;
  const G = c.blocks.length;
  const W = flat(w.W, D * G * H * I, 'W');
  const R = flat(w.R, D * G * H * H, 'R');
  const B = w.B === undefined ? new Float64Array(D * 2 * G * H) : flat(w.B, D * 2 * G * H, 'B');
  const P = w.P === undefined ? undefined : flat(w.P, D * 3 * H, 'P');
  if (P && !c.peephole && P.some((v) => v !== 0)) throw new Error(`cell '${cell}' has no peepholes but P is nonzero`);

  const out: CellParams[] = [];
  for (let d = 0; d < D; d++) {
    const p: CellParams = {};
    c.blocks.forEach((sfx, g) => {
      if (sfx === null) return;
      const rows = (d * G + g) * H;
      p[`W${sfx}`] = W.slice(rows * I, (rows + H) * I);
      p[`U${sfx}`] = R.slice(rows * H, (rows + H) * H);
      const wb = B.subarray(d * 2 * G * H + g * H, d * 2 * G * H + (g + 1) * H);
      const rb = B.subarray(d * 2 * G * H + (G + g) * H, d * 2 * G * H + (G + g + 1) * H);
      if (cell === 'gru-reset-after' && sfx === '_h') {
        // h~ = tanh(W_h x + Wbh + r ⊙ (U_h h + Rbh)): Rbh sits inside the reset product, so it stays apart.
        p.b_h = wb.slice();
        p.b_uh = rb.slice();
      } else {
        p[`b${sfx}`] = wb.map((v, j) => v + rb[j]!);
      }
    });
    if (c.peephole) {
      PEEPHOLES.forEach((name, k) => {
        p[name] = P ? P.slice(d * 3 * H + k * H, d * 3 * H + (k + 1) * H) : new Float64Array(H);
      });
    }
    out.push(p);
  }
  return out;
}

/** Pack per-direction cell parameters into ONNX W/R/B (and P); the whole bias goes in Wb except b_uh (Rbh). */
export function cellToOnnx(cell: CellName, params: CellParams[], shape: Omit<WeightShape, 'direction'>): OnnxWeights {
  const c = CELLS[cell];
  const { hidden: H, input: I } = shape;
  const D = params.length;
  if (D !== 1 && D !== 2) throw new Error(`expected 1 or 2 directions of parameters, got ${D}`);
  const G = c.blocks.length;
  const W = new Float64Array(D * G * H * I);
  const R = new Float64Array(D * G * H * H);
  const B = new Float64Array(D * 2 * G * H);
  const P = c.peephole ? new Float64Array(D * 3 * H) : undefined;
  const expected = new Set(cellParamNames(cell));
  params.forEach((p, d) => {
    for (const k of Object.keys(p)) if (!expected.has(k)) throw new Error(`cell '${cell}' has no parameter '${k}'`);
    const get = (name: string, n: number) => {
      const v = p[name];
      if (!v) throw new Error(`cell '${cell}' direction ${d}: missing parameter '${name}'`);
      if (v.length !== n) throw new Error(`cell '${cell}' parameter '${name}' has ${v.length} values, expected ${n}`);
      return v;
    };
    c.blocks.forEach((sfx, g) => {
      if (sfx === null) return;
      const rows = (d * G + g) * H;
      W.set(get(`W${sfx}`, H * I), rows * I);
      R.set(get(`U${sfx}`, H * H), rows * H);
      B.set(get(`b${sfx}`, H), d * 2 * G * H + g * H);
      if (cell === 'gru-reset-after' && sfx === '_h') B.set(get('b_uh', H), d * 2 * G * H + (G + g) * H);
    });
    if (P) PEEPHOLES.forEach((name, k) => P.set(get(name, H), d * 3 * H + k * H));
  });
  const out: OnnxWeights = {
    W: { dims: [D, G * H, I], data: W },
    R: { dims: [D, G * H, H], data: R },
    B: { dims: [D, 2 * G * H], data: B },
  };
  if (P) out.P = { dims: [D, 3 * H], data: P };
  return out;
}

function flat(x: Tensor | ArrayLike<number>, n: number, name: string): Float64Array {
  const data = 'dims' in x && 'data' in x ? (x as Tensor).data : (x as ArrayLike<number>);
  if (data.length !== n) throw new Error(`${name} has ${data.length} values, expected ${n}`);
  return Float64Array.from(data);
}
