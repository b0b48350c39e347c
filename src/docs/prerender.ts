// Renders the formulas of one cell's documentation ahead of the site (site.ts): the build's threads call it for the
// cells they document, so the rendering is cached with the cell, and the site then finds each cell's formulas in the
// renderer's memo (tex.ts). It mirrors what site.ts renders for a cell (its page, its row of the index, its Jacobian on
// the vanishing page); a formula missed here is only rendered later, by the site. With a remote renderer set (the
// build's render worker, see render-client.ts) the formulas are rendered there, off this thread.

import type { CellDoc } from './model.js';
import { proseHtml } from './prose.js';
import { loadTex, rememberedTex, TexRenderer, takeTexMemo, texKey, texRendered } from './tex.js';
import { trace } from '../text/trace.js';

/** Renders every formula site.ts renders for the cell with `tex`; bad ones are left to the site to report. */
function visitCell(cell: CellDoc, tex: TexRenderer): void {
  const tryAll = (f: () => unknown): void => {
    try {
      f();
    } catch {
      // The site renders it again and reports it with the page and the formula.
    }
  };
  for (const eqs of [cell.forward, cell.backward, cell.gradients, cell.jacobian]) for (const eq of eqs) tryAll(() => tex.equation(eq, ''));
  for (const tb of cell.example.tables) tryAll(() => tex.render(tb.latexName, '', false));
  for (const l of cell.legend) {
    tryAll(() => tex.render(l.symbol, '', false));
    tryAll(() => tex.render(l.definition, '', false));
  }
  for (const s of cell.sizes) tryAll(() => tex.render(s.symbol, '', false));
  tryAll(() => tex.render(`P = ${cell.paramCount.formula}`, '', true));
  tryAll(() => tex.render(cell.paramCount.formula, '', false));
  if (cell.sizes.length) tryAll(() => tex.render(cell.sizes.map((s) => `${s.symbol} = ${s.example}`).join(',\\; '), '', false));
  tryAll(() => proseHtml(cell.description, tex, ''));
}

/** A renderer that renders nothing: it lists the formulas asked for (each once), as [LaTeX, display]. */
class Lister extends TexRenderer {
  readonly seen = new Map<string, [string, boolean]>();
  override render(tex: string, _where: string, display = true): string {
    const key = texKey(tex, display);
    if (!this.seen.has(key)) this.seen.set(key, [tex, display]);
    return '';
  }
}

/** The formulas prerenderCell renders for the cell, each once, as [LaTeX, display]. */
export function cellFormulas(cell: CellDoc): [string, boolean][] {
  const l = new Lister(`cells/${cell.name}.html`);
  visitCell(cell, l);
  return [...l.seen.values()];
}

/** Renders formulas elsewhere: the HTML of each (undefined where KaTeX failed), or undefined when that renderer is gone. */
export type RemoteTex = (items: readonly (readonly [string, boolean])[]) => Promise<(string | undefined)[] | undefined>;
let remote: RemoteTex | undefined;

/** Where prerenderCell renders from now on (undefined: in this thread). */
export function useRemoteTex(r: RemoteTex | undefined): void {
  remote = r;
}

const byKey = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The cell's formulas rendered, as memo entries sorted by key (see tex.ts addTexMemo). Bad formulas are left to the site to report. */
export async function prerenderCell(cell: CellDoc): Promise<[string, string][]> {
  if (remote) {
    // What the memo holds (an earlier version of the spec had the formula) is not sent.
    const items = cellFormulas(cell).map(([t, d]) => ({ t, d, key: texKey(t, d), html: rememberedTex(texKey(t, d)) }));
    const rest = items.filter((it) => it.html === undefined);
    trace(`${cell.name}: ${rest.length} of ${items.length} formulas to render (render worker)`);
    const html = await remote(rest.map((it): [string, boolean] => [it.t, it.d]));
    if (html) {
      rest.forEach((it, i) => (it.html = html[i]));
      return items.flatMap((it): [string, string][] => (it.html === undefined ? [] : [[it.key, it.html]])).sort(byKey);
    }
  }
  await loadTex();
  takeTexMemo();
  const before = texRendered;
  visitCell(cell, new TexRenderer(`cells/${cell.name}.html`));
  const out = takeTexMemo();
  trace(`${cell.name}: ${texRendered - before} of ${cellFormulas(cell).length} formulas rendered`);
  return out;
}
