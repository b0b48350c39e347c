// The printer base: walks the IR with one method per node kind; targets override the methods.

import { assertNever, type Broadcast, type Concat, type Const, type Expr, type Leaf, type MapE, type MatVec, type Reduce, type Slice, type Zip } from '../ir/expr.js';

/** Binding strength, loosest first: a child of lower precedence than its context gets parentheses. */
export const enum Prec {
  Sum = 1,
  Product = 2,
  Unary = 3,
  Atom = 4,
}

export interface Printed {
  readonly text: string;
  readonly prec: Prec;
}

export abstract class Printer {
  /** Nodes that have a name print as that name (except the root being defined). */
  constructor(protected readonly names: ReadonlyMap<number, string> = new Map()) {}

  /** Prints the definition of e: e itself is printed structurally even if it has a name. */
  print(e: Expr): string {
    return this.node(e, true).text;
  }

  /** Prints a use of e: its name if it has one. */
  ref(e: Expr): string {
    return this.node(e).text;
  }

  protected node(e: Expr, root = false): Printed {
    const name = root ? undefined : this.names.get(e.id);
    if (name !== undefined) return { text: this.name(name, e), prec: Prec.Atom };
    switch (e.kind) {
      case 'leaf':
        return this.leaf(e);
      case 'const':
        return this.const(e);
      case 'matvec':
        return this.matvec(e);
      case 'map':
        return this.map(e);
      case 'zip':
        return this.zip(e);
      case 'concat':
        return this.concat(e);
      case 'slice':
        return this.slice(e);
      case 'reduce':
        return this.reduce(e);
      case 'broadcast':
        return this.broadcast(e);
      default:
        return assertNever(e, 'expression');
    }
  }

  /** Prints a child, parenthesized when it binds looser than `min`. */
  protected child(e: Expr, min: Prec): string {
    const p = this.node(e);
    return p.prec < min ? this.paren(p.text) : p.text;
  }

  protected paren(text: string): string {
    return `(${text})`;
  }

  protected name(name: string, _e: Expr): string {
    return name;
  }

  protected abstract leaf(e: Leaf): Printed;
  protected abstract const(e: Const): Printed;
  protected abstract matvec(e: MatVec): Printed;
  protected abstract map(e: MapE): Printed;
  protected abstract zip(e: Zip): Printed;
  protected abstract concat(e: Concat): Printed;
  protected abstract slice(e: Slice): Printed;
  protected abstract reduce(e: Reduce): Printed;
  protected abstract broadcast(e: Broadcast): Printed;
}
