// The YAML text of a test cell from its sections, so a test writes only what its cell is about. Shared by the
// tests and the benchmarks (src/ never imports it).

/** One section of a spec: `key: value` lines, in the order given. */
export type Section = Readonly<Record<string, string>>;

/** The two sizes most test cells use. */
export const INPUT_HIDDEN: Section = { input: '{ symbol: I, example: 3 }', hidden: '{ symbol: H, example: 4 }' };

export interface CellText {
  readonly name: string;
  readonly title: string;
  /** INPUT_HIDDEN when absent. */
  readonly sizes?: Section;
  /** `x: input` when absent. */
  readonly inputs?: Section;
  /** `h: hidden` when absent. */
  readonly state?: Section;
  readonly parameters: Section;
  readonly activations?: Section;
  readonly equations: Section;
  readonly output?: string;
}

/** The spec text: name, title, sizes, inputs, state, parameters, activations (if any), equations and output (if given). */
export function cellText(c: CellText): string {
  const section = (key: string, s: Section | undefined): string[] => (s ? [`${key}:`, ...Object.entries(s).map(([k, v]) => `  ${k}: ${v}`)] : []);
  return [
    `name: ${c.name}`,
    `title: ${c.title}`,
    ...section('sizes', c.sizes ?? INPUT_HIDDEN),
    ...section('inputs', c.inputs ?? { x: 'input' }),
    ...section('state', c.state ?? { h: 'hidden' }),
    ...section('parameters', c.parameters),
    ...section('activations', c.activations),
    ...section('equations', c.equations),
    ...(c.output === undefined ? [] : [`output: ${c.output}`]),
    '',
  ].join('\n');
}
