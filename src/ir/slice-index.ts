// Lowers `a[lo:hi]`, a slice of a vector whose bounds are size expressions. Indices follow mathjs: 1-based, and
// both ends are included, so g[1:hidden] is the first hidden elements and g[hidden+1:2*hidden] the next ones.

import type { MathNode } from 'mathjs';
import { Diagnostic } from '../spec/diagnostic.js';
import type { Span } from '../spec/diagnostic.js';
import { minOver, negativeAt, subDims } from './dims.js';
import { addDims, constDim, type Dim, dimOf, scaleDim, size } from './shape.js';

type Any = MathNode & { name?: string; op?: string; args?: MathNode[]; content?: MathNode; value?: unknown; implicit?: boolean;
  index?: { dimensions: MathNode[] }; start?: MathNode; end?: MathNode; step?: MathNode | null };

export interface SliceBounds {
  /** 0-based first element and element count, as the IR's slice node takes them. */
  readonly start: Dim;
  readonly length: Dim;
}

const HINT_BOUNDS = "bounds add sizes and integers, as in g[hidden+1:2*hidden]; 'end' is the last element";

/** A dimension as a spec writes it: 2*hidden + 1. */
const written = (d: Dim): string => {
  const parts = d.terms.map(([n, k]) => (k === 1 ? n : `${k}*${n}`));
  if (d.constant !== 0 || parts.length === 0) parts.push(String(d.constant));
  return parts.join(' + ').replace(/\+ -/g, '- ');
};

/** A witness such as "hidden = 1" for a diagnostic. */
const when = (d: Dim): string => {
  const at = negativeAt(d);
  return at && Object.keys(at).length ? ` when ${Object.entries(at).map(([n, v]) => `${n} = ${v}`).join(', ')}` : '';
};

/**
 * The bounds of `node` (an AccessorNode) applied to a vector of `n` elements, named `what` in messages.
 * Checked symbolically for every size >= 1: the slice starts at element 1 or later, ends at the last
 * element or earlier, and is not empty.
 */
export function sliceBounds(node: MathNode, n: Dim, what: string, sizes: ReadonlySet<string>, at: (m: MathNode) => Span, where: string): SliceBounds {
  const dims = (node as Any).index!.dimensions as Any[];
  if (dims.length !== 1)
    throw new Diagnostic(`a vector takes one range, not ${dims.length} ${where}`, at(node), 'slice a vector as v[lo:hi]; matrices cannot be sliced');
  const r = dims[0]!;
  if (r.type !== 'RangeNode')
    throw new Diagnostic(`a single element of a vector is a number, which equations do not use ${where}`, at(r), 'take a vector of one element: v[k:k]');
  if (r.step) throw new Diagnostic(`a range with a step is not supported ${where}`, at(r.start!), 'a slice takes every element from lo to hi: v[lo:hi]');
  const bound = (b: Any): Dim => {
    switch (b.type) {
      case 'ConstantNode':
        if (typeof b.value !== 'number' || !Number.isInteger(b.value)) throw new Diagnostic(`a slice bound must be an integer ${where}`, at(b), HINT_BOUNDS);
        return constDim(b.value);
      case 'SymbolNode':
        if (b.name === 'end') return n;
        if (sizes.has(b.name!)) return size(b.name!);
        throw new Diagnostic(`'${b.name}' in a slice bound is not a size ${where}`, at(b), `${HINT_BOUNDS} (sizes: ${[...sizes].join(', ')})`);
      case 'ParenthesisNode':
        return bound(b.content as Any);
      case 'OperatorNode': {
        const args = b.args as Any[];
        if (args.length === 1 && (b.op === '-' || b.op === '+')) return b.op === '-' ? scaleDim(bound(args[0]!), -1) : bound(args[0]!);
        if (b.op === '+' && args.length === 2) return addDims(bound(args[0]!), bound(args[1]!));
        if (b.op === '-' && args.length === 2) return subDims(bound(args[0]!), bound(args[1]!));
        if (b.op === '*' && args.length === 2) {
          const [x, y] = [bound(args[0]!), bound(args[1]!)];
          if (!x.terms.length) return scaleDim(y, x.constant);
          if (!y.terms.length) return scaleDim(x, y.constant);
        }
        throw new Diagnostic(`a slice bound may only add sizes and multiply them by integers ${where}`, at(b), HINT_BOUNDS);
      }
      default:
        throw new Diagnostic(`a slice bound must be a size expression ${where}`, at(b), HINT_BOUNDS);
    }
  };
  const lo = bound(r.start as Any);
  const hi = bound(r.end as Any);
  const show = written;
  if (minOver(subDims(lo, constDim(1))) < 0)
    throw new Diagnostic(`the slice starts before the first element of ${what}${when(subDims(lo, constDim(1)))} ${where}`, at(r.start!), 'indices are 1-based and include both ends, as in mathjs: v[1:hidden] is the first hidden elements');
  if (minOver(subDims(n, hi)) < 0)
    throw new Diagnostic(`the slice ends after the last element of ${what} (${show(n)} elements)${when(subDims(n, hi))} ${where}`, at(r.end!), `the last element is ${what === 'the vector' ? 'v' : what.slice(1, -1)}[${show(n).replace(/ /g, '')}] (or [end]); both ends are included`);
  const length = addDims(subDims(hi, lo), constDim(1));
  if (minOver(subDims(length, constDim(1))) < 0)
    throw new Diagnostic(`the slice ${show(lo)} : ${show(hi)} of ${what} is empty${when(subDims(length, constDim(1)))} ${where}`, at(r), 'a slice includes both ends, so it needs lo <= hi for every size');
  return { start: subDims(lo, constDim(1)), length: length.terms.length || length.constant ? length : dimOf({}, 0) };
}
