// The validated form of a cell spec: every declaration keeps the source span it came from.

import type { MathNode } from 'mathjs';
import type { Shape } from './shape.js';
import type { Span } from './diagnostic.js';

export interface Decl {
  readonly name: string;
  readonly span: Span;
}

export interface SizeDecl extends Decl {
  readonly symbol: string; // LaTeX symbol used in formulas, e.g. H
  readonly example: number; // example value for docs and checks
}

export interface TensorDecl extends Decl {
  readonly shape: Shape;
  readonly shapeSpan: Span;
}

/** An expression in mathjs syntax with the source offsets of its nodes. */
export interface SourceExpr {
  readonly text: string;
  readonly node: MathNode;
  /** Offset of text[0] in the file. */
  readonly offset: number;
  /** Character range of each node within text. */
  readonly ranges: ReadonlyMap<MathNode, readonly [number, number]>;
  readonly file: string;
}

export interface EquationDecl extends Decl {
  readonly expr: SourceExpr;
}

export interface ActivationDecl extends Decl {
  readonly param: string;
  readonly expr: SourceExpr;
}

export interface CellSpec {
  readonly file: string;
  readonly source: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly references: readonly string[];
  readonly sizes: readonly SizeDecl[];
  readonly inputs: readonly TensorDecl[];
  readonly state: readonly TensorDecl[];
  readonly params: readonly TensorDecl[];
  readonly equations: readonly EquationDecl[];
  readonly output: string;
  readonly latex: ReadonlyMap<string, { tex: string; span: Span }>;
  readonly activations: readonly ActivationDecl[];
  readonly readout?: { readonly classes: string; readonly span: Span };
}
