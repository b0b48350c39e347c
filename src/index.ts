// cellgen's library entry: compile specs, run the reference, build outputs programmatically.

export { compileCell, exampleSizes, type CompiledCell } from './derive/compile.js';
export { build, type BuildOptions, type BuildResult, type CellReport } from './build/build.js';
export { Diagnostic, formatDiagnostic } from './spec/diagnostic.js';
export { cellLatex, latexDocument } from './emit/latex.js';
export { forwardSequence, backwardSequence } from './check/reference.js';
export { gradCheck, dotProductTest, randomProblem } from './check/gradcheck.js';
