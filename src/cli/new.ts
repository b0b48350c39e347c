// The text of a new cell spec: a commented template, or a copy of an existing cell under a new name.

import { Diagnostic } from '../spec/diagnostic.js';
import { cellNameProblem, readSpec } from '../spec/read.js';

export function newSpec(name: string, from?: { text: string; file: string }): string {
  const bad = cellNameProblem(name);
  if (bad) throw new Diagnostic(bad.message, undefined, bad.hint);
  if (from) {
    const spec = readSpec(from.text, from.file);
    return from.text.replace(/^name:.*$/m, `name: ${name}`).replace(/^title:.*$/m, `title: ${JSON.stringify(`${spec.title} (from ${spec.name})`)}`);
  }
  return `# A recurrent cell for cellgen. Reference: the spec format in README.md.
name: ${name}
title: ${name} cell
description: >-
  One paragraph on what this cell computes and why.
references:
  - "Author (year). Title. Venue."
# Symbolic sizes: a LaTeX symbol for formulas and an example value for docs and checks.
sizes:
  input: { symbol: I, example: 3 }
  hidden: { symbol: H, example: 4 }
# Per-step inputs, and states (the previous value of a state s is s_prev in equations).
inputs:
  x: input
state:
  h: hidden
# Parameters: [rows, cols] matrices or vectors; dimensions may add sizes (hidden + input).
parameters:
  W: [hidden, input]
  U: [hidden, hidden]
  b: hidden
# One step, in order, in mathjs syntax: * is a matrix-vector product, .* elementwise,
# concat(a, b) stacks vectors. Every state needs an update.
equations:
  h: tanh(W * x + U * h_prev + b)
# Optional: LaTeX names, custom activations (scalar functions of x), a softmax readout.
# latex:
#   h_cand: '\\tilde{h}'
# activations:
#   swish: x * sigmoid(x)
`;
}
