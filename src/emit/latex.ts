// The LaTeX printer: forward equations, BPTT adjoint equations and parameter-gradient sums.

import { latexComment } from '../text/escape.js';
import { symbolTex } from '../spec/tex.js';
import type { CompiledCell } from '../derive/compile.js';
import type { Broadcast, Concat, Const, Expr, Leaf, MapE, MatVec, Reduce, Slice, Zip } from '../ir/expr.js';
import type { FnTable } from '../ir/functions.js';
import { addDims, constDim, showDim } from '../ir/shape.js';
import { forwardNames } from '../derive/reverse.js';
import type { JacobianBlock } from '../derive/jacobian.js';
import { Prec, type Printed, Printer } from './printer.js';

const GREEK = new Set(['alpha', 'beta', 'gamma', 'Gamma', 'delta', 'Delta', 'epsilon', 'zeta', 'eta', 'theta', 'Theta', 'iota', 'kappa', 'lambda', 'Lambda', 'mu', 'nu', 'xi', 'Xi', 'pi', 'Pi', 'rho', 'sigma', 'Sigma', 'tau', 'upsilon', 'phi', 'Phi', 'chi', 'psi', 'Psi', 'omega', 'Omega']);

/** Default LaTeX for a spec name: W_z -> W_{z}, h_cand -> \tilde{h}, Gamma_u -> \Gamma_{u}. */
export function defaultLatex(name: string): string {
  const [head, ...rest] = name.split('_');
  const h = GREEK.has(head!) ? `\\${head}` : head!;
  if (rest.length === 1 && rest[0] === 'cand') return `\\tilde{${h}}`;
  return rest.length ? `${h}_{${rest.join(',')}}` : h;
}

/** Adds a time index: z -> z_t, \Gamma_u -> \Gamma_{u,t}, W_{hz} -> W_{hz,t}. */
export function timed(base: string, time: string): string {
  const braced = /^(.*)_\{([^{}]*)\}$/.exec(base);
  if (braced) return `${braced[1]}_{${braced[2]},${time}}`;
  const single = /^(.*)_([A-Za-z0-9])$/.exec(base);
  if (single) return `${single[1]}_{${single[2]},${time}}`;
  return `${base}_{${time}}`;
}

const FN_LATEX: Readonly<Record<string, (a: string) => string>> = {
  sigmoid: (a) => `\\sigma(${a})`,
  tanh: (a) => `\\tanh(${a})`,
  relu: (a) => `\\operatorname{relu}(${a})`,
  exp: (a) => `\\exp(${a})`,
  log: (a) => `\\log(${a})`,
  softplus: (a) => `\\operatorname{softplus}(${a})`,
  sqrt: (a) => `\\sqrt{${a}}`,
  abs: (a) => `\\left|${a}\\right|`,
  sin: (a) => `\\sin(${a})`,
  cos: (a) => `\\cos(${a})`,
  step: (a) => `\\mathbb{1}[${a} > 0]`,
  sign: (a) => `\\operatorname{sign}(${a})`,
};

export interface LatexEquation {
  readonly lhs: string;
  readonly rhs: string;
  readonly note?: string;
}

export interface CellLatex {
  readonly forward: readonly LatexEquation[];
  readonly backward: readonly LatexEquation[];
  readonly gradients: readonly LatexEquation[];
  /** How a spec name prints (base symbol, without time index). */
  readonly symbol: (name: string) => string;
  /** The symbols the backward step introduces, each with its defining formula (LaTeX). */
  readonly legend: readonly { readonly symbol: string; readonly definition: string; readonly note: string }[];
}

class LatexPrinter extends Printer {
  constructor(
    names: ReadonlyMap<number, string>,
    private readonly fns: FnTable,
    private readonly sym: (name: string) => string,
    private readonly sizeSym: Readonly<Record<string, string>>,
    private readonly seedText: (name: string) => string,
  ) {
    super(names);
  }

  protected override paren(text: string): string {
    return `\\left(${text}\\right)`;
  }

  protected leaf(e: Leaf): Printed {
    const b = this.sym(e.name);
    switch (e.role) {
      case 'input':
        return { text: timed(b, 't'), prec: Prec.Atom };
      case 'state':
        return { text: timed(b, 't-1'), prec: Prec.Atom };
      case 'param':
        return { text: b, prec: Prec.Atom };
      case 'seed':
        return { text: this.seedText(e.name), prec: Prec.Atom };
    }
  }

  protected const(e: Const): Printed {
    const abs = Math.abs(e.value);
    // pi and e of an equation print as symbols.
    const text = abs === Math.PI ? '\\pi' : abs === Math.E ? '\\mathrm{e}' : `${abs}`;
    return { text: e.value < 0 ? `-${text}` : text, prec: e.value < 0 ? Prec.Unary : Prec.Atom };
  }

  protected matvec(e: MatVec): Printed {
    const m = this.child(e.m, Prec.Atom);
    return { text: `${e.transpose ? `${m}^{\\top}` : m} ${this.child(e.v, Prec.Atom)}`, prec: Prec.Product };
  }

  protected map(e: MapE): Printed {
    if (e.fn === 'neg') return { text: `-${this.child(e.a, Prec.Product)}`, prec: Prec.Unary };
    const a = this.print_(e.a);
    const known = FN_LATEX[e.fn];
    if (known) return { text: known(a), prec: Prec.Atom };
    const def = this.fns.get(e.fn);
    const base = e.fn.endsWith('_grad') && def.helper ? `\\operatorname{${e.fn.slice(0, -5).replace(/_/g, '\\_')}}'` : `\\operatorname{${e.fn.replace(/_/g, '\\_')}}`;
    return { text: `${base}(${a})`, prec: Prec.Atom };
  }

  private print_(e: Expr): string {
    return this.node(e).text;
  }

  protected zip(e: Zip): Printed {
    // max(a, b) and min(a, b) are lowered as b + relu(a - b) and b - relu(b - a); they print as written.
    const r = e.b.kind === 'map' && e.b.fn === 'relu' && e.b.a.kind === 'zip' && e.b.a.op === 'sub' ? e.b.a : undefined;
    if (r && e.op === 'add' && r.b === e.a) return { text: `\\max(${this.print_(r.a)}, ${this.print_(e.a)})`, prec: Prec.Atom };
    if (r && e.op === 'sub' && r.a === e.a) return { text: `\\min(${this.print_(r.b)}, ${this.print_(e.a)})`, prec: Prec.Atom };
    switch (e.op) {
      case 'add':
        return { text: `${this.child(e.a, Prec.Sum)} + ${this.child(e.b, Prec.Sum)}`, prec: Prec.Sum };
      case 'sub':
        if (e.b.kind === 'const' && e.b.value < 0) return { text: `${this.child(e.a, Prec.Sum)} + ${-e.b.value}`, prec: Prec.Sum };
        return { text: `${this.child(e.a, Prec.Sum)} - ${this.child(e.b, Prec.Product)}`, prec: Prec.Sum };
      case 'mul': {
        if (e.a === e.b) return { text: `${this.child(e.a, Prec.Atom)}^{2}`, prec: Prec.Atom };
        // a scalar (a constant, a scalar parameter or a broadcast per-row scalar) scales by juxtaposition: \alpha h
        const scalar = e.a.shape.length === 0 || e.b.shape.length === 0 || e.a.kind === 'broadcast' || e.b.kind === 'broadcast';
        return { text: `${this.child(e.a, Prec.Product)} ${scalar ? '' : '\\odot '}${this.child(e.b, Prec.Product)}`, prec: Prec.Product };
      }
      case 'div':
        return { text: `\\frac{${this.print_(e.a)}}{${this.print_(e.b)}}`, prec: Prec.Atom };
    }
  }

  protected concat(e: Concat): Printed {
    return { text: `\\left[${e.parts.map((p) => this.print_(p)).join(', ')}\\right]`, prec: Prec.Atom };
  }

  protected slice(e: Slice): Printed {
    const from = showDim(addDims(e.start, constDim(1)), this.sizeSym).replace(/ /g, '');
    const to = showDim(addDims(e.start, e.length), this.sizeSym).replace(/ /g, '');
    return { text: `\\left(${this.print_(e.a)}\\right)_{${from}:${to}}`, prec: Prec.Atom };
  }

  // sum(v) = Σ_i v_i and mean(v) = (1/n) Σ_i v_i, per batch row
  protected reduce(e: Reduce): Printed {
    return { text: `\\operatorname{${e.mean ? 'mean' : 'sum'}}(${this.print_(e.a)})`, prec: Prec.Atom };
  }

  // A per-row scalar used where a vector is: it prints as the scalar (divided by n for the transpose of a mean).
  protected broadcast(e: Broadcast): Printed {
    if (!e.mean) return this.node(e.a);
    return { text: `\\frac{${this.print_(e.a)}}{${showDim(e.shape[0]!, this.sizeSym)}}`, prec: Prec.Atom };
  }
}

export function cellLatex(c: CompiledCell): CellLatex {
  const { spec, cell, bw } = c;
  const sym = (name: string): string => { const t = spec.latex.get(name)?.tex; return t === undefined ? defaultLatex(name) : symbolTex(t); };
  const sizeSym = Object.fromEntries(spec.sizes.map((s) => [s.name, s.symbol]));
  const fwdNames = forwardNames(cell);
  const equationNode = new Map<number, string>();
  for (const [id, n] of fwdNames) if (n.kind === 'equation') equationNode.set(id, timed(sym(n.name), 't'));

  // A state whose total adjoint is just its seed prints the seed as δs_t; otherwise as the incoming part.
  const stateTotal = new Map<string, boolean>();
  for (const s of cell.prev) stateTotal.set(s.name, bw.bindings.some((b) => b.of === cell.next.get(s.name)));
  const seedText = (name: string): string =>
    stateTotal.get(name) ? `\\delta ${timed(sym(name), 't')}^{\\mathrm{in}}` : `\\delta ${timed(sym(name), 't')}`;

  const adjointName = (b: (typeof bw.bindings)[number]): string => {
    if (b.reason === 'equation') return `\\delta ${timed(sym(b.equation!), 't')}`;
    if (b.reason === 'preactivation') return `\\delta ${preName(sym(b.equation!))}`;
    return `\\delta\\left(${new LatexPrinter(equationNode, cell.fns, sym, sizeSym, seedText).print(b.of)}\\right)`;
  };

  const fp = new LatexPrinter(equationNode, cell.fns, sym, sizeSym, seedText);
  const forward: LatexEquation[] = cell.equations.map((eq) => ({ lhs: timed(sym(eq.name), 't'), rhs: fp.print(eq.expr) }));
  const out = timed(sym(spec.output), 't');
  if (spec.readout) {
    forward.push(
      { lhs: '\\hat{y}_{t}', rhs: `\\operatorname{softmax}\\left(W_{y} ${out} + b_{y}\\right)`, note: 'the readout' },
      { lhs: 'L_{t}', rhs: '-y_{t}^{\\top} \\log \\hat{y}_{t}', note: 'cross-entropy against the one-hot target y_t; L is the sum over t' },
    );
  }

  const backNames = new Map(equationNode);
  for (const b of bw.bindings) backNames.set(b.expr.id, adjointName(b));
  const bp = new LatexPrinter(backNames, cell.fns, sym, sizeSym, seedText);
  const backward: LatexEquation[] = [];
  if (spec.readout) {
    backward.push({ lhs: `\\frac{\\partial L_t}{\\partial ${out}}`, rhs: 'W_{y}^{\\top} \\left(\\hat{y}_{t} - y_{t}\\right)', note: 'softmax and cross-entropy together: the logits get ŷ_t - y_t' });
  }
  for (const s of cell.prev) {
    if (stateTotal.get(s.name)) continue;
    backward.push({
      lhs: `\\delta ${timed(sym(s.name), 't')}`,
      rhs: `\\frac{\\partial L_t}{\\partial ${timed(sym(s.name), 't')}} + \\delta ${timed(sym(s.name), 't')}^{(t+1)}`,
      note: 'the loss at step t plus what step t+1 sends back',
    });
  }
  for (const s of cell.prev) {
    if (!stateTotal.get(s.name)) continue;
    backward.push({
      lhs: `\\delta ${timed(sym(s.name), 't')}^{\\mathrm{in}}`,
      rhs: `\\frac{\\partial L_t}{\\partial ${timed(sym(s.name), 't')}} + \\delta ${timed(sym(s.name), 't')}^{(t+1)}`,
      note: 'the loss at step t plus what step t+1 sends back',
    });
  }
  const legend: { symbol: string; definition: string; note: string }[] = [];
  for (const b of bw.bindings) {
    backward.push({ lhs: adjointName(b), rhs: bp.print(b.expr) });
    if (b.reason !== 'preactivation' || legend.some((l) => l.symbol === preName(sym(b.equation!)))) continue;
    // a^{(z)}_t names the argument of z_t's activation: z_t = σ(a^{(z)}_t).
    const eq = cell.equations.find((e) => e.name === b.equation);
    if (!eq || eq.expr.kind !== 'map') continue;
    const names = new Map(equationNode);
    names.delete(eq.expr.id);
    names.set(eq.expr.a.id, preName(sym(b.equation!)));
    legend.push({ symbol: preName(sym(b.equation!)), definition: `${timed(sym(b.equation!), 't')} = ${new LatexPrinter(names, cell.fns, sym, sizeSym, seedText).print(eq.expr)}`, note: `the pre-activation of ${b.equation}: the argument of its activation` });
  }
  for (const s of cell.prev) backward.push({ lhs: `\\delta ${timed(sym(s.name), 't-1')}`, rhs: bp.print(bw.prevAdjoint.get(s.name)!), note: 'carried to step t-1' });
  for (const x of cell.inputs) backward.push({ lhs: `\\delta ${timed(sym(x.name), 't')}`, rhs: bp.print(bw.inputAdjoint.get(x.name)!) });

  const gradients: LatexEquation[] = [];
  for (const p of cell.params) {
    const terms = bw.grads.filter((g) => g.param === p.name).map((g) =>
      g.kind === 'outer' ? `${operand(bp.ref(g.dy))} \\, ${operand(bp.ref(g.v))}^{\\top}` : p.shape.length === 0 ? `\\mathbf{1}^{\\top} ${bp.ref(g.g).startsWith('-') ? `\\left(${bp.ref(g.g)}\\right)` : operand(bp.ref(g.g))}` : bp.ref(g.g),
    );
    const body = terms.length > 1 ? `\\left(${terms.join(' + ')}\\right)` : terms[0] ?? '0';
    gradients.push({ lhs: `\\frac{\\partial L}{\\partial ${sym(p.name)}}`, rhs: `\\sum_{t=1}^{T} ${body}`, note: p.shape.length === 1 ? 'summed over the batch as well' : p.shape.length === 0 ? 'a scalar: summed over the elements (1 is a vector of ones) and the batch as well' : undefined });
  }
  if (spec.readout) {
    gradients.push(
      { lhs: '\\frac{\\partial L}{\\partial W_{y}}', rhs: `\\sum_{t=1}^{T} \\left(\\hat{y}_{t} - y_{t}\\right) ${out}^{\\top}`, note: 'the readout' },
      { lhs: '\\frac{\\partial L}{\\partial b_{y}}', rhs: '\\sum_{t=1}^{T} \\left(\\hat{y}_{t} - y_{t}\\right)' },
    );
  }
  return { forward, backward, gradients: gradients.map((g) => (g.note ? g : { lhs: g.lhs, rhs: g.rhs })), symbol: sym, legend };
}

/** The pre-activation of an equation's value s: a^{(s)}_t, "what goes into s's activation". */
function preName(base: string): string {
  return `a^{(${base})}_{t}`;
}

/** An operand of an outer product, parenthesized unless it is a single symbol. */
function operand(t: string): string {
  return /\\odot| \+ | - /.test(t) && !/^\\left\[.*\\right\]$/.test(t) ? `\\left(${t}\\right)` : t;
}

/** A standalone LaTeX document body: the three blocks in aligned environments. */
export function latexDocument(c: CompiledCell, L: CellLatex): string {
  const block = (title: string, eqs: readonly LatexEquation[]): string =>
    [`% ${title}`, '\\begin{align*}', eqs.map((e) => `  ${e.lhs} &= ${e.rhs}`).join(' \\\\\n'), '\\end{align*}'].join('\n');
  return [
    `% ${latexComment(c.spec.title)} — generated by cellgen from ${latexComment(c.spec.file)}; do not edit.`,
    block('Forward step', L.forward),
    block('Backward step (BPTT adjoints)', L.backward),
    block('Parameter gradients', L.gradients),
    '',
  ].join('\n\n');
}


/** The longest closed-form Jacobian block printed (LaTeX characters). */
const MAX_JACOBIAN_CHARS = 4000;

/** ∂s_t/∂s'_{t-1} blocks in closed form: sums of products of diag(·) and weight matrices. */
export function jacobianLatex(c: CompiledCell, blocks: readonly JacobianBlock[]): LatexEquation[] {
  const { spec, cell } = c;
  const sym = (name: string): string => { const t = spec.latex.get(name)?.tex; return t === undefined ? defaultLatex(name) : symbolTex(t); };
  const sizeSym = Object.fromEntries(spec.sizes.map((s) => [s.name, s.symbol]));
  const equationNode = new Map<number, string>();
  for (const [id, n] of forwardNames(cell)) if (n.kind === 'equation') equationNode.set(id, timed(sym(n.name), 't'));
  const fp = new LatexPrinter(equationNode, cell.fns, sym, sizeSym, (n) => n);
  const term = (t: JacobianBlock['terms'][number]): string => {
    // Adjacent diagonal maps multiply elementwise: diag(a) diag(b) = diag(a ⊙ b).
    const parts: string[] = [];
    let scale = 1;
    let diag: string[] = [];
    const flush = () => {
      if (diag.length) parts.push(`\\operatorname{diag}\\left(${diag.length === 1 ? diag[0] : diag.map(operand).join(' \\odot ')}\\right)`);
      diag = [];
    };
    for (const op of t.ops) {
      if (op.kind === 'scale') scale *= op.c;
      else if (op.kind === 'diag') diag.push(fp.ref(op.v));
      else if (op.kind === 'recip') diag.push(`\\frac{1}{${fp.ref(op.v)}}`);
      else if (op.kind === 'reduce' || op.kind === 'broadcast') {
        // 1ᵀ sums a vector, 1 repeats a scalar; a mean's divides by n
        flush();
        parts.push(`${op.mean ? `\\tfrac{1}{${showDim(op.n, sizeSym)}}` : ''}\\mathbf{1}${op.kind === 'reduce' ? '^{\\top}' : ''}`);
      } else {
        flush();
        const block = op.colOff && op.colLen
          ? `_{:,${showDim(addDims(op.colOff, constDim(1)), sizeSym).replace(/ /g, '')}:${showDim(addDims(op.colOff, op.colLen), sizeSym).replace(/ /g, '')}}`
          : '';
        const W = block ? `\\left(${sym(op.W.name)}\\right)${block}` : sym(op.W.name);
        parts.push(`${W}${op.transpose ? '^{\\top}' : ''}`);
      }
    }
    flush();
    const body = parts.length ? parts.join(' ') : 'I';
    const s = scale * t.sign;
    return `${s < 0 ? '-' : '+'} ${Math.abs(s) === 1 ? '' : `${Math.abs(s)} `}${body}`;
  };
  return blocks.map((b) => {
    const lhs = `\\frac{\\partial ${timed(sym(b.out), 't')}}{\\partial ${timed(sym(b.of), 't-1')}}`;
    const text = b.terms.map(term).join(' ').replace(/^\+ /, '');
    // Normalised cells (layer norm) expand into hundreds of terms: too long to read or typeset, so only counted.
    if (text.length > MAX_JACOBIAN_CHARS) return { lhs, rhs: `\\text{a sum of ${b.terms.length} products (the transpose of the backward step's map)}`, note: 'too long to print in closed form' };
    return { lhs, rhs: text };
  });
}
