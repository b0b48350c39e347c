import { compileCell } from './src/derive/compile.js';
const y = (acts: string) => `name: t\ntitle: T\nsizes:\n  input: 5\n  hidden: 7\ninputs:\n  x: input\nstate:\n  h: hidden\nparameters:\n  W: [hidden, input]\n  U: [hidden, hidden]\n  b: hidden\nactivations:\n${acts}\nequations:\n  h: act(W * x + U * h_prev + b)\n`;
for (const a of ['x * sigmoid(x)', 'x / (1 + abs(x))', 'x * tanh(softplus(x))', 'x^2 / (1 + x^2)', 'exp(-x^2)', 'sqrt(1 + x^2) - 1', 'log(1 + x^2)', 'sin(x) + cos(x)*0.5', 'x^3 - 2.5*x']) {
  const c = compileCell(y(`  act: ${a}`), 't.yaml');
  for (const f of c.cell.fns.customs()) console.log(f.name, '|', f.custom!.source);
}
