// Prints a value's definition in the spec's own notation, for the one-line comment above its WGSL.

import { assertNever, type Expr } from '../../ir/expr.js';
import { showDim } from '../../ir/shape.js';
import { needsParens } from './printer.js';

const OPS = { add: '+', sub: '-', mul: '.*', div: './' } as const;

/** `name(e)` gives the name of a bound or available node, or undefined to print it structurally. */
export function notation(e: Expr, name: (e: Expr) => string | undefined, top = true): string {
  const n = top ? undefined : name(e);
  if (n !== undefined) return n;
  const p = (c: Expr): string => notation(c, name, false);
  const operand = (c: Expr, parent: Parameters<typeof needsParens>[1], right: boolean): string =>
    name(c) === undefined && needsParens(c, parent, right) ? `(${p(c)})` : p(c);
  switch (e.kind) {
    case 'leaf':
      return e.name;
    case 'const':
      return String(e.value);
    case 'matvec':
      return `${p(e.m)}${e.transpose ? "'" : ''} * ${p(e.v)}`;
    case 'map':
      return e.fn === 'neg' ? `-${operand(e.a, 'neg', false)}` : `${e.fn}(${p(e.a)})`;
    case 'zip':
      return `${operand(e.a, e.op, false)} ${OPS[e.op]} ${operand(e.b, e.op, true)}`;
    case 'concat':
      return `concat(${e.parts.map(p).join(', ')})`;
    case 'slice':
      return `${p(e.a)}[${showDim(e.start)} : ${showDim(e.start)} + ${showDim(e.length)}]`;
    case 'reduce':
      return `${e.mean ? 'mean' : 'sum'}(${p(e.a)})`;
    case 'broadcast':
      return e.mean ? `${operand(e.a, 'div', false)} / ${showDim(e.shape[0]!)}` : p(e.a);
    default:
      return assertNever(e, 'expression kind');
  }
}
