// Build-time KaTeX rendering that counts what it renders and names the formula when one is malformed.
import type { DocEquation } from './model.js';

type Katex = typeof import('katex').default;
let katex: Katex | undefined;

/** Loads KaTeX once; call before rendering (a build whose pages are all cached never loads it). */
export async function loadTex(): Promise<void> {
  katex ??= (await import('katex')).default;
}

/** A renderer for one page: the count goes into the page so the browser check can compare it. */
export class TexRenderer {
  count = 0;
  /** Numbered display equations so far on this page. */
  numbered = 0;

  constructor(private readonly page: string) {}

  /** `where` names the formula in the error, e.g. `cell "gru", backward equation 3`. */
  render(tex: string, where: string, display = true): string {
    let html: string;
    try {
      if (!katex) throw new Error('invariant: loadTex() was not awaited before rendering');
      // Formulas are printed from validated pieces (no macro definitions; each user symbol expands at most 100 times),
      // so their expansions grow with their length: a long equation's Jacobian is not an infinite loop.
      html = katex.renderToString(tex, { throwOnError: true, displayMode: display, maxExpand: 1000 + 10 * tex.length });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${this.page}: bad LaTeX in ${where}: ${reason}\n  formula: ${tex}`, { cause: err });
    }
    this.count++;
    return html;
  }

  /** Inline math that may not parse (a formula found in prose): undefined instead of an error. */
  tryRender(tex: string, where: string): string | undefined {
    try {
      return this.render(tex, where, false);
    } catch {
      return undefined;
    }
  }

  equation(eq: DocEquation, where: string): { html: string; note?: string } {
    return { html: this.render(`${eq.lhs} = ${eq.rhs}`, where), note: eq.note };
  }
}
