// Build-time KaTeX rendering that counts what it renders and names the formula when one is malformed.
import type { DocEquation } from './model.js';
import { trace } from '../text/trace.js';

type Katex = typeof import('katex').default;
let katex: Katex | undefined;

/** Loads KaTeX once; call before rendering (a build whose pages are all cached never loads it). */
export async function loadTex(): Promise<void> {
  if (katex) return;
  katex = (await import('katex')).default;
  trace('katex loaded');
}

/**
 * KaTeX's HTML for a formula, in this thread (the site's renderer, and the render worker: render-worker.ts); throws
 * KaTeX's error. Call loadTex() first.
 */
export function katexHtml(tex: string, display: boolean): string {
  if (!katex) throw new Error('invariant: loadTex() was not awaited before rendering');
  // Formulas are printed from validated pieces (no macro definitions; each user symbol expands at most 100 times),
  // so their expansions grow with their length: a long equation's Jacobian is not an infinite loop.
  // maxSize bounds \rule and \kern from a spec's description; strict 'ignore': KaTeX never writes to the terminal.
  return katex.renderToString(tex, { throwOnError: true, displayMode: display, maxExpand: 1000 + 10 * tex.length, maxSize: 10, strict: 'ignore' });
}

/**
 * Rendered formulas by `texKey(tex, display)`. KaTeX's output depends on nothing else (the options are fixed below
 * and the expansion limit follows from the formula), so a remembered rendering is the one KaTeX would produce; the
 * build fills it from its cache and from its worker threads, which render each cell's formulas (prerender.ts, prerenderCell).
 */
const memo = new Map<string, string>();
/** Keys of the formulas rendered or looked up since the last takeTexMemo(). */
let used = new Set<string>();

export const texKey = (tex: string, display: boolean): string => `${display ? 'D' : 'I'}${tex}`;

/** Adds remembered renderings (from takeTexMemo in the thread that built a cell or an earlier build). */
export function addTexMemo(entries: Iterable<readonly [string, string]>): void {
  for (const [k, v] of entries) memo.set(k, v);
}

/** The remembered rendering of texKey `key`, if any (and counts it as looked up, see takeTexMemo). */
export function rememberedTex(key: string): string | undefined {
  const html = memo.get(key);
  if (html !== undefined) used.add(key);
  return html;
}

/** The renderings looked up or made since the last call, and forgets that list. */
export function takeTexMemo(): [string, string][] {
  const out = [...used].filter((k) => memo.has(k)).sort().map((k): [string, string] => [k, memo.get(k)!]);
  used = new Set();
  return out;
}

/** How many formulas KaTeX itself rendered in this thread (the others were remembered): for tests. */
export let texRendered = 0;

/** A renderer for one page: the count goes into the page so the browser check can compare it. */
export class TexRenderer {
  count = 0;
  /** Numbered display equations so far on this page. */
  numbered = 0;

  constructor(private readonly page: string) {}

  /** `where` names the formula in the error, e.g. `cell "gru", backward equation 3`. */
  render(tex: string, where: string, display = true): string {
    const key = texKey(tex, display);
    used.add(key);
    const hit = memo.get(key);
    if (hit !== undefined) {
      this.count++;
      return hit;
    }
    let html: string;
    try {
      html = katexHtml(tex, display);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${this.page}: bad LaTeX in ${where}: ${reason}\n  formula: ${tex}`, { cause: err });
    }
    memo.set(key, html);
    texRendered++;
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
