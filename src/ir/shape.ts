// The dimension algebra lives with the spec language (src/spec/shape.ts: dimensions are written in specs); the IR
// and the stages after it use it through this module.
export * from '../spec/shape.js';
