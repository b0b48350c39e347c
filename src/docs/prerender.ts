// Renders the formulas of one cell's documentation ahead of the site (site.ts): the build's worker threads call it
// for the cells they build, so KaTeX's work is spread over every core and cached with the cell, and the site then
// finds each cell's formulas in the renderer's memo (tex.ts). It mirrors what site.ts renders for a cell (its page,
// its row of the index, its Jacobian on the vanishing page); a formula missed here is only rendered later, by the site.

import type { CellDoc } from './model.js';
import { proseHtml } from './prose.js';
import { loadTex, TexRenderer, takeTexMemo } from './tex.js';

/** The cell's formulas rendered, as memo entries (see tex.ts addTexMemo). Bad formulas are left to the site to report. */
export async function prerenderCell(cell: CellDoc): Promise<[string, string][]> {
  await loadTex();
  takeTexMemo();
  const tex = new TexRenderer(`cells/${cell.name}.html`);
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
  return takeTexMemo();
}
