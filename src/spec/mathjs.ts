// The one mathjs instance of the compiler: only its expression parser and node classes.
//
// `import { parse } from 'mathjs'` builds mathjs's full default instance (every function, typed-function
// signatures for all of them: about 1.5 s of CPU at start-up). The compiler needs only the parser and the
// expression-tree classes, so it creates an instance from `parseDependencies` alone; bundled (the CLI),
// the rest of mathjs is left out. Every module that parses or builds expression trees imports from here,
// so all trees share one set of node classes.

import { create, parseDependencies } from 'mathjs';

const math = create({ parseDependencies });

export const parse = math.parse;
export const { ConditionalNode, ConstantNode, FunctionNode, OperatorNode, SymbolNode } = math;
export type { MathNode } from 'mathjs';
