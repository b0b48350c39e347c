// The agreement-experiment page: its figures (vega-lite, rendered to SVG) and summary numbers from the committed JSON.

import type { TopLevelSpec } from 'vega-lite';
import { formatInt, formatNumber } from './html.js';
import type { AgreementDoc } from './model.js';
import { renderSvg } from './plot.js';
import type { TexRenderer } from './tex.js';

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 600,
  height: 300,
  background: 'white',
  config: { font: 'DejaVu Sans, Verdana, sans-serif', axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 12 } },
} as const;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const finite = (v: number) => Number.isFinite(v) && v > 0;

function accuracySpec(r: AgreementDoc): { spec: TopLevelSpec; series: number } {
  const values = r.setup.cells.flatMap((cell) => r.setup.lags.map((lag) => ({ cell, lag, accuracy: mean(r.accuracy.filter((a) => a.cell === cell && a.lag === lag).map((a) => a.accuracy)) })));
  return {
    series: r.setup.cells.length,
    spec: {
      ...BASE,
      data: { values },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'lag', type: 'quantitative', title: 'lag L (words between the subject and the verb)' },
        y: { field: 'accuracy', type: 'quantitative', title: 'accuracy on fresh sentences', scale: { domain: [0.4, 1] } },
        color: { field: 'cell', type: 'nominal', title: 'cell', scale: { domain: [...r.setup.cells] } },
        order: { field: 'lag', type: 'quantitative' },
      },
    },
  };
}

/** The checkpoints of the gradient measurement, labelled; the last one per cell is the end of its training. */
function gradientStages(r: AgreementDoc): { cell: string; stage: string; step: number; points: { distance: number; norm: number; ratio: number }[] }[] {
  return r.setup.cells.flatMap((cell) => {
    const g = r.gradients.filter((x) => x.cell === cell).sort((a, b) => a.step - b.step);
    return g.map((x, i) => {
      const near = x.points.find((p) => p.distance === 1)?.norm ?? NaN;
      return { cell, step: x.step, points: x.points.map((p) => ({ ...p, ratio: p.norm / near })), stage: i === 0 ? 'at initialisation' : i === g.length - 1 ? 'at the end of training' : `after ${x.step} steps` };
    });
  });
}

function gradientSpec(r: AgreementDoc, stages: ReturnType<typeof gradientStages>): { spec: TopLevelSpec; series: number } {
  const values = stages.flatMap((s) => s.points.filter((p) => finite(p.ratio)).map((p) => ({ cell: s.cell, stage: s.stage, distance: p.distance, ratio: p.ratio })));
  const order = [...new Set(stages.map((s) => s.stage))].sort((a, b) => stageRank(a) - stageRank(b));
  return {
    series: stages.length,
    spec: {
      $schema: BASE.$schema,
      background: BASE.background,
      config: BASE.config,
      data: { values },
      facet: { field: 'stage', type: 'nominal', title: null, sort: order, header: { labelFontSize: 13 } },
      columns: 2,
      spec: {
        width: 280,
        height: 200,
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'distance', type: 'quantitative', title: 'T \u2212 t (steps back from the verb)' },
          y: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, axis: { format: '.0e' }, title: '\u2016\u2202L/\u2202s_t\u2016 / \u2016\u2202L/\u2202s_T\u2212\u2081\u2016' },
          color: { field: 'cell', type: 'nominal', title: 'cell', scale: { domain: [...r.setup.cells] } },
          order: { field: 'distance', type: 'quantitative' },
        },
      },
    } as TopLevelSpec,
  };
}
const stageRank = (s: string) => (s === 'at initialisation' ? -1 : s === 'at the end of training' ? 1e9 : Number(/\d+/.exec(s)?.[0] ?? 0));

function clippingSpec(r: AgreementDoc, field: 'loss' | 'gradNorm'): { spec: TopLevelSpec; series: number } {
  const values = r.clipping.runs.flatMap((run) => run.points.filter((p) => Number.isFinite(p[field]) && (field === 'loss' || p[field] > 0)).map((p) => ({ run: run.clipped ? `clipped to norm ${r.setup.clipping.clipNorm}` : 'not clipped', step: p.step, value: p[field] })));
  return {
    series: r.clipping.runs.length,
    spec: {
      ...BASE,
      height: 220,
      data: { values },
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'SGD step' },
        y: field === 'loss' ? { field: 'value', type: 'quantitative', title: 'training loss (batch mean)' } : { field: 'value', type: 'quantitative', scale: { type: 'log' }, axis: { format: '.0e' }, title: 'gradient norm before clipping' },
        color: { field: 'run', type: 'nominal', title: 'run' },
        order: { field: 'step', type: 'quantitative' },
      },
    },
  };
}

/** The page's four figures as vega-lite specs (what agreementView draws): the build has them drawn ahead (build/render.ts). */
export function agreementSpecs(r: AgreementDoc): TopLevelSpec[] {
  return [accuracySpec(r), gradientSpec(r, gradientStages(r)), clippingSpec(r, 'loss'), clippingSpec(r, 'gradNorm')].map((p) => p.spec);
}

/** Everything agreement.hbs shows. */
export async function agreementView(r: AgreementDoc, tex: TexRenderer, only?: readonly ('accuracy' | 'gradient' | 'loss' | 'norm')[]) {
  const draw = async (name: 'accuracy' | 'gradient' | 'loss' | 'norm', p: { spec: TopLevelSpec; series: number }) => ({ svg: !only || only.includes(name) ? await renderSvg(p.spec) : '', series: p.series });
  const acc = accuracySpec(r);
  const stages = gradientStages(r);
  const grad = gradientSpec(r, stages);
  const loss = clippingSpec(r, 'loss');
  const norm = clippingSpec(r, 'gradNorm');
  const cellSummary = r.setup.cells.map((cell) => {
    const byLag = r.setup.lags.map((lag) => {
      const runs = r.accuracy.filter((a) => a.cell === cell && a.lag === lag);
      return { lag, accuracy: mean(runs.map((a) => a.accuracy)), steps: mean(runs.map((a) => a.steps)) };
    });
    const solved = byLag.filter((x) => x.accuracy >= 0.95).map((x) => x.lag);
    const failed = byLag.find((x) => x.accuracy < 0.75);
    const g = stages.filter((s) => s.cell === cell);
    const far = (s: (typeof g)[number] | undefined) => (s ? s.points[s.points.length - 1] : undefined);
    const before = far(g[0]);
    const after = far(g[g.length - 1]);
    const worst = g.map(far).filter((p) => p && finite(p.ratio)).sort((a, b) => a!.ratio - b!.ratio)[0];
    return {
      cell,
      href: `cells/${cell}.html`,
      cells: byLag.map((x) => ({ accuracy: formatNumber(x.accuracy, 3), steps: formatInt(Math.round(x.steps)), good: x.accuracy >= 0.95, bad: x.accuracy < 0.75 })),
      longest: solved.length ? formatInt(Math.max(...solved)) : '\u2014',
      firstFail: failed ? formatInt(failed.lag) : '\u2014',
      farBefore: before ? formatNumber(before.ratio, 3) : '\u2014',
      farAfter: after ? formatNumber(after.ratio, 3) : '\u2014',
      farWorst: worst ? formatNumber(worst.ratio, 3) : '\u2014',
      farDistance: after ? formatInt(after.distance) : '\u2014',
      endStep: g.length ? formatInt(g[g.length - 1]!.step) : '\u2014',
    };
  });
  const clip = r.clipping.runs.map((run) => {
    const losses = run.points.map((p) => p.loss).filter(Number.isFinite);
    const norms = run.points.map((p) => p.gradNorm).filter(Number.isFinite);
    return {
      label: run.clipped ? `clipped to norm ${r.setup.clipping.clipNorm}` : 'not clipped',
      maxNorm: norms.length ? formatNumber(Math.max(...norms), 3) : '\u2014',
      finalLoss: losses.length ? formatNumber(mean(losses.slice(-10)), 3) : '\u2014',
      accuracy: formatNumber(run.finalAccuracy, 3),
      diverged: run.diverged,
    };
  });
  const s = r.setup;
  const example = [s.language.singular?.[0] ?? 'cat', ...(s.language.clause ?? []).slice(0, 5), '\u2026', s.language.verbSlot?.[0] ?? ','].join(' ');
  return {
    setup: {
      ...s,
      lags: s.lags.join(', '),
      seeds: s.seeds.join(', '),
      seedCount: s.seeds.length,
      seconds: formatInt(Math.round(s.seconds)),
      singular: (s.language.singular ?? []).join(', '),
      plural: (s.language.plural ?? []).join(', '),
      clause: (s.language.clause ?? []).join(', '),
      cellList: s.cells.join(', '),
      forgetBias: s.forgetBias ?? 1,
    },
    example,
    lagHeads: s.lags.map((l) => formatInt(l)),
    cellSummary,
    clip,
    ablation: r.ablation ? { ...r.ablation, carried: formatNumber((1 / (1 + Math.exp(-r.ablation.forgetBias))) ** r.ablation.lag, 2), runs: r.ablation.runs.map((x) => ({ ...x, accuracy: formatNumber(x.accuracy, 3) })) } : undefined,
    plots: {
      accuracy: await draw('accuracy', acc),
      gradient: await draw('gradient', grad),
      loss: await draw('loss', loss),
      norm: await draw('norm', norm),
    },
    gradLag: formatInt(s.gradientLag),
    tex: tex.count,
  };
}
