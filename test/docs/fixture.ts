// A small SiteInput with two fake cells: real LaTeX, plus hostile strings in the places a spec controls.
import type { CellDoc, SiteInput } from '../../src/docs/model.js';

export const HOSTILE = {
  title: 'GRU <script>alert("title")</script> & friends',
  description: 'Gated <img src=x onerror="alert(1)"> unit.\n\nSecond paragraph with "quotes" & <b>tags</b>.',
  specSource: 'name: gru\n# </code></pre><script>alert("spec")</script>\nequations:\n  h: (1 - z) * h_prev + z * h_cand\n',
  note: 'note with <em>markup</em> & an ampersand',
  sizeName: 'hidden <i>size</i>',
  reference: 'Cho et al. 2014 <u>x</u>, https://arxiv.org/abs/1406.1078',
};

const rnn: CellDoc = {
  name: 'rnn',
  title: 'Elman RNN',
  description: 'The plain recurrent cell: one tanh layer over the input and the previous state, h_t = tanh(W_h x_t + U_h h_{t-1} + b_h). Its Jacobian is diag(1 - h_t^2) U_h; ONNX calls it with linear_before_reset unset.',
  references: ['Elman, J. L. (1990). Finding structure in time. Cognitive Science 14(2).'],
  specSource: 'name: rnn\nsizes: { H: hidden, I: input }\nequations:\n  h: tanh(W_h * x + U_h * h_prev + b_h)\n',
  sizes: [
    { name: 'hidden', symbol: 'H', example: 4 },
    { name: 'input', symbol: 'I', example: 3 },
  ],
  paramCount: { formula: 'H(H+I)+H', example: 32 },
  ops: { forward: 66, backward: 140 },
  savedBytesPerStep: 16,
  forward: [{ lhs: 'h_t', rhs: '\\tanh(W_h x_t + U_h h_{t-1} + b_h)' }],
  backward: [
    { lhs: '\\delta a_t', rhs: '\\delta h_t \\odot (1 - h_t \\odot h_t)', note: 'tanh′ from the saved output' },
    { lhs: '\\delta h_{t-1}', rhs: 'U_h^\\top \\delta a_t' },
    { lhs: '\\delta x_t', rhs: 'W_h^\\top \\delta a_t' },
  ],
  gradients: [
    { lhs: '\\frac{\\partial L}{\\partial W_h}', rhs: '\\sum_{t=1}^{T} \\delta a_t \\, x_t^\\top' },
    { lhs: '\\frac{\\partial L}{\\partial U_h}', rhs: '\\sum_{t=1}^{T} \\delta a_t \\, h_{t-1}^\\top' },
    { lhs: '\\frac{\\partial L}{\\partial b_h}', rhs: '\\sum_{t=1}^{T} \\delta a_t' },
  ],
  jacobian: [{ lhs: '\\frac{\\partial h_t}{\\partial h_{t-1}}', rhs: '\\operatorname{diag}(1 - h_t \\odot h_t)\\, U_h' }],
  example: {
    title: 'One step from h_{t-1} = 0 with a fixed input.',
    tables: [
      { name: 'x', latexName: 'x_t', values: [1, -0.5, 0.25] },
      { name: 'h', latexName: 'h_t', values: [0.1234567, -0.00001234, 0.5, -0.75] },
    ],
  },
  kernels: [
    { label: 'TypeScript', href: 'kernels/rnn.ts' },
    { label: 'WGSL', href: 'kernels/rnn.wgsl' },
  ],
  family: 'RNN',
  legend: [{ symbol: 'a_t', definition: 'h_t = \\tanh(a_t)', note: 'the pre-activation of h' }],
  code: [{ label: 'generated/ts/rnn.ts', file: 'rnn.ts', text: 'export const cell = { name: "rnn" };\n' }],
};

const gru: CellDoc = {
  name: 'gru',
  title: HOSTILE.title,
  description: HOSTILE.description,
  references: [HOSTILE.reference, 'Chung et al. (2014). Empirical evaluation of gated recurrent neural networks.'],
  specSource: HOSTILE.specSource,
  sizes: [
    { name: HOSTILE.sizeName, symbol: 'H', example: 4 },
    { name: 'input', symbol: 'I', example: 3 },
  ],
  paramCount: { formula: '3(H(H+I)+H)', example: 96 },
  ops: { forward: 230, backward: 480 },
  savedBytesPerStep: 2048,
  forward: [
    { lhs: 'z_t', rhs: '\\sigma(W_z x_t + U_z h_{t-1} + b_z)' },
    { lhs: 'r_t', rhs: '\\sigma(W_r x_t + U_r h_{t-1} + b_r)' },
    { lhs: '\\tilde{h}_t', rhs: '\\tanh(W_h x_t + U_h (r_t \\odot h_{t-1}) + b_h)' },
    { lhs: 'h_t', rhs: '(1 - z_t) \\odot h_{t-1} + z_t \\odot \\tilde{h}_t', note: HOSTILE.note },
  ],
  backward: [
    { lhs: '\\delta \\tilde{h}_t', rhs: '\\delta h_t \\odot z_t' },
    { lhs: '\\delta z_t', rhs: '\\delta h_t \\odot (\\tilde{h}_t - h_{t-1})' },
    { lhs: '\\delta a_h', rhs: '\\delta \\tilde{h}_t \\odot (1 - \\tilde{h}_t \\odot \\tilde{h}_t)' },
    { lhs: '\\delta r_t', rhs: '(U_h^\\top \\delta a_h) \\odot h_{t-1}' },
    {
      lhs: '\\delta h_{t-1}',
      rhs: '\\delta h_t \\odot (1 - z_t) + (U_h^\\top \\delta a_h) \\odot r_t + U_z^\\top (\\delta z_t \\odot z_t \\odot (1 - z_t)) + U_r^\\top (\\delta r_t \\odot r_t \\odot (1 - r_t))',
    },
  ],
  gradients: [
    { lhs: '\\frac{\\partial L}{\\partial W_h}', rhs: '\\sum_{t=1}^{T} \\delta a_h \\, x_t^\\top' },
    { lhs: '\\frac{\\partial L}{\\partial U_h}', rhs: '\\sum_{t=1}^{T} \\delta a_h \\, (r_t \\odot h_{t-1})^\\top' },
  ],
  jacobian: [
    {
      lhs: '\\frac{\\partial h_t}{\\partial h_{t-1}}',
      rhs: '\\operatorname{diag}(1 - z_t) + \\operatorname{diag}(z_t \\odot (1 - \\tilde{h}_t^2))\\, U_h \\operatorname{diag}(r_t) + \\dots',
    },
  ],
  example: {
    title: 'One step of the <GRU> kernel & its saved values.',
    tables: [
      { name: 'z <b>', latexName: 'z_t', values: [0.5, 0.25, 0.125, 0.0625] },
      { name: 'h', latexName: '\\tilde{h}_t', values: [1e-9, -2.5e7, 0, 1] },
    ],
  },
  kernels: [{ label: 'TypeScript <kernel>', href: 'code/gru.ts.html' }, { label: 'WGSL', href: 'kernels/gru.wgsl' }],
  family: 'GRU',
  legend: [{ symbol: 'a_h', definition: '\\tilde{h}_t = \\tanh(a_h)', note: HOSTILE.note }],
  code: [{ label: 'generated/ts/gru.ts <x>', file: 'gru.ts', text: '// </code></pre><script>alert("code")</script>\nexport {};\n' }],
};

/** A small agreement result: made-up numbers with the shape of experiments/agreement.json. */
function agreement(): NonNullable<SiteInput['agreement']> {
  const cells = ['rnn', 'gru'];
  const lags = [2, 10, 50];
  return {
    setup: {
      cells, lags, seeds: [1], hidden: 8, steps: 100, batch: 16, lr: 0.01, clipNorm: 1, evalSize: 100, forgetBias: 3, gradientLag: 10, seconds: 12.5, machine: '2 × test cpu',
      language: { singular: ['cat'], plural: ['cats'], clause: ['which', 'ate'], verbSlot: [','] },
      clipping: { cell: 'rnn', lag: 10, steps: 3, lr: 0.2, gain: 2, clipNorm: 1, seed: 1 },
    },
    accuracy: cells.flatMap((cell) => lags.map((lag) => ({ cell, lag, seed: 1, accuracy: cell === 'gru' || lag < 50 ? 1 : 0.5, loss: 0.1, steps: 50, seconds: 1 }))),
    gradients: cells.flatMap((cell) => [0, 50, 100].map((step) => ({ cell, lag: 10, step, points: [1, 2, 4, 8, 11].map((distance) => ({ distance, norm: (cell === 'gru' ? 0.95 : 0.5) ** distance })) }))),
    clipping: {
      cell: 'rnn', lag: 10,
      runs: [false, true].map((clipped) => ({ clipped, diverged: false, finalAccuracy: clipped ? 1 : 0.5, points: [1, 2, 3].map((step) => ({ step, loss: 1 / step, gradNorm: clipped ? 1 : 10 * step })) })),
    },
    ablation: { forgetBias: 1, lag: 50, runs: [{ cell: 'gru', seed: 1, accuracy: 0.5, steps: 100 }] },
  };
}

export function fixture(): SiteInput {
  const lags = Array.from({ length: 30 }, (_, i) => i + 1);
  return {
    cells: structuredClone([rnn, gru]),
    vanishing: [
      // The zero at lag 60 is an underflow a log scale cannot draw.
      { cell: 'rnn', points: [...lags.map((lag) => ({ lag, norm: 0.6 ** lag })), { lag: 60, norm: 0 }] },
      { cell: 'gru', points: lags.map((lag) => ({ lag, norm: 0.97 ** lag })) },
    ],
    vanishingSetup: 'H = 4, I = 3, weights drawn from N(0, 1/H), seed 1, spectral norm.',
    specFormatMarkdown:
      '# Spec format\n\nA cell is a YAML file with `name`, `sizes` and `equations`.\n\n| key | meaning |\n|---|---|\n| `name` | identifier |\n| `sizes` | symbols |\n\n- one\n- two with [a link](https://example.org)\n\n```yaml\nname: gru\n```\n\n<script>alert(1)</script>\n',
    benchmarkMarkdown: '| cell | µs/step |\n|:--|--:|\n| rnn | 1.5 |\n| gru | 3.2 |\n',
    agreement: agreement(),
  };
}

/** Equations a cell page shows as numbered displays. */
export function equationCount(cell: CellDoc): number {
  return cell.forward.length + cell.backward.length + cell.gradients.length + cell.jacobian.length;
}
