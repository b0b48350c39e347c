// The one mathjs instance of the compiler: only its expression parser and node classes.
//
// `import { parse } from 'mathjs'` builds mathjs's full default instance (every function, typed-function
// signatures for all of them: about 1.5 s of CPU at start-up). Even `create({ parseDependencies })` pulls in
// units, matrices, BigNumber and Fraction arithmetic (SymbolNode's optional Unit alone brings pow, inv, det,
// multiply...), whose typed functions cost ~0.3 s at the first parse. The compiler only parses and walks trees
// (and prints them with toString), so the instance is made from the parser's own factories; the three that only
// evaluating or LaTeX printing would call (subset, size, isBounded) are stubs that say so. Bundled (the CLI), the
// rest of mathjs is left out. Every module that parses or builds expression trees imports from here, so all trees
// share one set of node classes.

import {
  create,
  createAccessorNode,
  createArrayNode,
  createAssignmentNode,
  createBlockNode,
  createConditionalNode,
  createConstantNode,
  createFunctionAssignmentNode,
  createFunctionNode,
  createIndexNode,
  createNode,
  createNumber,
  createNumeric,
  createObjectNode,
  createOperatorNode,
  createParenthesisNode,
  createParse,
  createRangeNode,
  createRelationalNode,
  createResultSet,
  createSymbolNode,
  createTyped,
  factory,
  type FactoryFunctionMap,
} from 'mathjs';

// mathjs exports every factory, but its type declarations name only some of them.
declare module 'mathjs' {
  export const createAccessorNode: FactoryFunction<unknown>;
  export const createArrayNode: FactoryFunction<unknown>;
  export const createAssignmentNode: FactoryFunction<unknown>;
  export const createBlockNode: FactoryFunction<unknown>;
  export const createConditionalNode: FactoryFunction<unknown>;
  export const createConstantNode: FactoryFunction<unknown>;
  export const createFunctionAssignmentNode: FactoryFunction<unknown>;
  export const createFunctionNode: FactoryFunction<unknown>;
  export const createIndexNode: FactoryFunction<unknown>;
  export const createNode: FactoryFunction<unknown>;
  export const createNumber: FactoryFunction<unknown>;
  export const createNumeric: FactoryFunction<unknown>;
  export const createObjectNode: FactoryFunction<unknown>;
  export const createOperatorNode: FactoryFunction<unknown>;
  export const createParenthesisNode: FactoryFunction<unknown>;
  export const createParse: FactoryFunction<unknown>;
  export const createRangeNode: FactoryFunction<unknown>;
  export const createRelationalNode: FactoryFunction<unknown>;
  export const createResultSet: FactoryFunction<unknown>;
  export const createSymbolNode: FactoryFunction<unknown>;
  export const createTyped: FactoryFunction<unknown>;
}

/** A dependency of a node class that only evaluation (compile/evaluate) or toTex calls. */
const unused = (name: string) =>
  factory(name, [], () => () => {
    throw new Error(`mathjs '${name}' is not part of cellgen's parser-only mathjs instance (src/spec/mathjs.ts)`);
  });

const math = create({
  createNode,
  createTyped,
  createNumber,
  createNumeric,
  createResultSet,
  createAccessorNode,
  createArrayNode,
  createAssignmentNode,
  createBlockNode,
  createConditionalNode,
  createConstantNode,
  createFunctionAssignmentNode,
  createFunctionNode,
  createIndexNode,
  createObjectNode,
  createOperatorNode,
  createParenthesisNode,
  createRangeNode,
  createRelationalNode,
  createSymbolNode,
  createParse,
  subset: unused('subset'),
  size: unused('size'),
  isBounded: unused('isBounded'),
} as unknown as FactoryFunctionMap);

export const parse = math.parse;
export const { ConditionalNode, ConstantNode, FunctionNode, OperatorNode, SymbolNode } = math;
export type { MathNode } from 'mathjs';
