// The vanishing-gradient figure: a vega-lite spec rendered at build time to a deterministic inline SVG.
import { createHash } from 'node:crypto';
import type { TopLevelSpec } from 'vega-lite';
import type { VanishingSeries } from './model.js';

/** Points a log scale cannot show (norm <= 0 after underflow, NaN) are dropped; the caller reports how many. */
// vega exports textMetrics at run time but its type declarations leave it out.
interface TextMetrics {
  width: unknown;
  measureWidth: unknown;
  canvas(use: boolean): void;
}

export function plottable(series: VanishingSeries[]): { cell: string; lag: number; norm: number }[] {
  return series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.norm) && p.norm > 0 && Number.isFinite(p.lag)).map((p) => ({ cell: s.cell, lag: p.lag, norm: p.norm })),
  );
}

export function vanishingSpec(series: VanishingSeries[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 600,
    height: 340,
    background: 'white',
    config: { font: 'DejaVu Sans, Verdana, sans-serif', axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 12 } },
    data: { values: plottable(series) },
    mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' },
    encoding: {
      x: { field: 'lag', type: 'quantitative', title: 'T \u2212 t (steps back in time)' },
      y: {
        field: 'norm',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: { format: '.0e' },
        title: '\u2016\u2202h_T / \u2202h_t\u2016',
      },
      // Input order, not alphabetical, so a cell keeps its colour when others are added after it.
      color: { field: 'cell', type: 'nominal', title: 'cell', scale: { domain: series.map((s) => s.cell) } },
      order: { field: 'lag', type: 'quantitative' },
    },
  };
}

/**
 * SVG of the figure. Text widths are estimated (not measured with node-canvas) and SVG def ids are reset,
 * so the same series give the same bytes on every machine.
 */
export async function vanishingSvg(series: VanishingSeries[]): Promise<string> {
  return renderSvg(vanishingSpec(series));
}

/** Rendered figures by a hash of their vega-lite spec (the build keeps them in its cache; the SVG depends on nothing else). */
export interface SvgStore {
  get(key: string): string | undefined;
  set(key: string, svg: string): void;
}
let store: SvgStore | undefined;

/** Where renderSvg looks figures up and keeps them (undefined: nowhere). */
export function useSvgStore(s: SvgStore | undefined): void {
  store = s;
}

/** Any vega-lite spec as a deterministic SVG string (estimated text widths, reset def ids). */
export async function renderSvg(vl: TopLevelSpec): Promise<string> {
  const key = svgKey(vl);
  let svg = knownSvg(key);
  if (svg === undefined) {
    svg = await drawSvg(vl);
    store?.set(key, svg);
  }
  drawn.set(key, svg);
  return svg;
}
/** The figures drawn or found in this process, by key: the same figure on two pages is drawn once. */
const drawn = new Map<string, string>();

/** A figure's key: the hash of its vega-lite spec. */
export const svgKey = (vl: TopLevelSpec): string => createHash('sha256').update(JSON.stringify(vl)).digest('hex');

/** The figure drawn in this process or kept in the store, if any. */
export const knownSvg = (key: string): string | undefined => drawn.get(key) ?? store?.get(key);

/** A figure drawn elsewhere (the render worker, render-worker.ts) from the spec with this key: kept here and in the store. */
export function rememberSvg(key: string, svg: string): void {
  drawn.set(key, svg);
  store?.set(key, svg);
}

let drawCount = 0;
/** How many figures drawSvg drew in this thread (the others were found): for the trace and the tests. */
export const svgDrawn = (): number => drawCount;

/** Draws a figure in this thread (loading vega on first use). */
export async function drawSvg(vl: TopLevelSpec): Promise<string> {
  drawCount++;
  // vega is loaded here, not at the top: a build whose figures are cached never loads it.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const textMetrics = (vega as unknown as { textMetrics: TextMetrics }).textMetrics;
  const spec = compile(vl).spec;
  const measured = textMetrics.width === textMetrics.measureWidth;
  textMetrics.canvas(false);
  vega.resetSVGDefIds();
  try {
    const view = new vega.View(vega.parse(spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    return svg;
  } finally {
    textMetrics.canvas(measured);
  }
}
