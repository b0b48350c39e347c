// The build's render worker (see render-client.ts): a thread that loads only KaTeX and vega, and
// renders plain data sent by the main thread (formulas to HTML, vega-lite specs to SVG) while that thread compiles,
// checks and documents the cells. One request at a time, in the order sent (vega's SVG ids are reset per figure).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';
import { drawSvg } from './plot.js';
import { katexHtml, loadTex, texKey } from './tex.js';
import { trace } from '../text/trace.js';

export type RenderRequest =
  | { readonly id: number; readonly kind: 'tex'; readonly items: readonly (readonly [string, boolean])[] }
  /** The formulas the templates in `dir` write as {{{math "…"}}} or {{{imath "…"}}}. */
  | { readonly id: number; readonly kind: 'templates'; readonly dir: string }
  | { readonly id: number; readonly kind: 'svg'; readonly spec: TopLevelSpec };

export interface RenderReply {
  readonly id: number;
  /** 'tex': each formula's HTML, null where KaTeX failed (the site renders it again and reports it). */
  readonly html?: (string | null)[];
  /** 'templates': [texKey, HTML] of the formulas rendered. */
  readonly entries?: [string, string][];
  readonly svg?: string;
  /** The request failed (the main thread draws the figure itself and reports the error). */
  readonly error?: string;
}

const tryHtml = (tex: string, display: boolean): string | null => {
  try {
    return katexHtml(tex, display);
  } catch {
    return null;
  }
};

/**
 * [LaTeX, display] of each math/imath helper call with a string literal in the templates: {{{math "…"}}}, {{imath "…"}},
 * (math "…"). Found as handlebars' lexer reads a string literal (\" is a quote), without loading handlebars here; a
 * call written otherwise is only rendered later, by the site.
 */
function templateFormulas(dir: string): [string, boolean][] {
  const out: [string, boolean][] = [];
  const call = /(?:\{\{\{?~?|\()\s*(math|imath)\s+"((?:\\"|[^"])*)"/g;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.hbs')).sort())
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(call)) out.push([m[2]!.replace(/\\"/g, '"'), m[1] === 'math']);
  return out;
}

async function answer(m: RenderRequest): Promise<RenderReply> {
  try {
    switch (m.kind) {
      case 'tex':
        await loadTex();
        return { id: m.id, html: m.items.map(([t, d]) => tryHtml(t, d)) };
      case 'templates': {
        await loadTex();
        const entries: [string, string][] = [];
        for (const [t, d] of templateFormulas(m.dir)) {
          const html = tryHtml(t, d);
          if (html !== null) entries.push([texKey(t, d), html]);
        }
        return { id: m.id, entries };
      }
      case 'svg':
        return { id: m.id, svg: await drawSvg(m.spec) };
    }
  } catch (e) {
    return { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
}

const port = parentPort;
if (port) {
  trace('render worker started');
  let queue: Promise<unknown> = Promise.resolve();
  port.on('message', (m: RenderRequest) => {
    queue = queue.then(async () => {
      const r = await answer(m);
      trace(`render worker: ${m.kind} ${m.id} done`);
      port.postMessage(r);
    });
  });
}
