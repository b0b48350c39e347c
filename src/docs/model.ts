// The documentation site's input: everything a page shows, as plain data (LaTeX strings are rendered by site.ts).

/** One display equation `lhs = rhs`; both sides are LaTeX, the note is plain text. */
export interface DocEquation {
  lhs: string;
  rhs: string;
  note?: string;
}

/** One quantity of the worked example: a vector (or a flattened matrix) with its LaTeX name. */
export interface ExampleTable {
  name: string;
  latexName: string;
  values: number[];
}

export interface CellDoc {
  /** Identifier used in file names (`cells/<name>.html`): letters, digits, `-`, `_`. */
  name: string;
  title: string;
  /** Plain text; blank lines separate paragraphs. */
  description: string;
  /** Plain text; http(s) URLs inside become links. */
  references: string[];
  /** The .cell.yaml text, shown verbatim. */
  specSource: string;
  /** `symbol` is LaTeX (e.g. `H`). */
  sizes: { name: string; symbol: string; example: number }[];
  /** `formula` is LaTeX, e.g. `3(H(H+I)+H)`; `example` is its value at the example sizes. */
  paramCount: { formula: string; example: number };
  /** Flops per step per batch row. */
  ops: { forward: number; backward: number };
  savedBytesPerStep: number;
  forward: DocEquation[];
  /** BPTT adjoints of one step. */
  backward: DocEquation[];
  /** Parameter gradients, summed over time steps. */
  gradients: DocEquation[];
  /** dh_t/dh_{t-1} in closed form. */
  jacobian: DocEquation[];
  /** One step computed by the kernel. */
  example: { title: string; tables: ExampleTable[] };
  /** Links to generated kernels; `href` is relative to the site root (or an http(s) URL). */
  kernels: { label: string; href: string }[];
  /** 'RNN', 'GRU' or 'LSTM', read off the cell's structure; the navigation groups cells by it. */
  family: string;
  /** Symbols the backward step introduces (LaTeX), each with its definition (LaTeX) and a plain-text note. */
  legend: { symbol: string; definition: string; note: string }[];
  /** Generated files shown inside the site: `code/<file>.html` shows `text`. */
  code: { label: string; file: string; text: string }[];
}

/** Measured ||dh_T/dh_t|| against the lag T - t for one cell. */
export interface VanishingSeries {
  cell: string;
  points: { lag: number; norm: number }[];
}

export interface SiteInput {
  cells: CellDoc[];
  vanishing: VanishingSeries[];
  /** Plain text: how the vanishing-gradient curves were measured (sizes, init, seed, norm). */
  vanishingSetup?: string;
  /**
   * Optional page `spec-format.html`. Markdown (a safe subset, escaped) or, when it starts with `<`,
   * HTML inserted as is: it must come from the project, never from a spec.
   */
  specFormatMarkdown?: string;
  /** Optional benchmark table shown on the index page; same rules as specFormatMarkdown. */
  benchmarkMarkdown?: string;
  /** Committed results of `cellgen experiment agreement` (experiments/agreement.json); the page is left out without them. */
  agreement?: AgreementDoc;
}

/** The parts of experiments/agreement.json the docs read (see src/experiment/run.ts). */
export interface AgreementDoc {
  setup: {
    cells: string[]; lags: number[]; seeds: number[]; hidden: number; steps: number; batch: number; lr: number; clipNorm: number;
    evalSize: number; forgetBias?: number; gradientLag: number; seconds: number; machine: string;
    language: Record<string, string[]>;
    clipping: { cell: string; lag: number; steps: number; lr: number; gain: number; clipNorm: number; seed: number };
  };
  accuracy: { cell: string; lag: number; seed: number; accuracy: number; loss: number; steps: number; seconds: number }[];
  gradients: { cell: string; lag: number; step: number; points: { distance: number; norm: number }[] }[];
  clipping: { cell: string; lag: number; runs: { clipped: boolean; diverged: boolean; finalAccuracy: number; points: { step: number; loss: number; gradNorm: number }[] }[] };
  ablation?: { forgetBias: number; lag: number; runs: { cell: string; seed: number; accuracy: number; steps: number }[] };
}
