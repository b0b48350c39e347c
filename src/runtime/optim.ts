// Optimizers (SGD with momentum, Adam) over a model's named parameter arrays.

import type { Gradients, Model } from './train.js';
import type { Arr } from './types.js';

/** Every parameter of a model with a stable name: layers.0.forward.W_z, …, readout.W, readout.b. */
export function namedParams<A extends Arr>(model: Model<A>): [string, A][] {
  const out: [string, A][] = [];
  model.layers.forEach((l, i) => {
    for (const [d, dir] of [['forward', l.forward], ['backward', l.backward]] as const) {
      if (!dir) continue;
      for (const p of Object.keys(dir.kernels.cell.params)) out.push([`layers.${i}.${d}.${p}`, dir.params[p]!]);
    }
  });
  out.push(['readout.W', model.readout.W], ['readout.b', model.readout.b]);
  return out;
}

/** The gradient arrays in the order of namedParams(model). */
export function gradList<A extends Arr>(model: Model<A>, g: Gradients<A>): A[] {
  const out: A[] = [];
  model.layers.forEach((l, i) => {
    for (const [dir, gd] of [[l.forward, g.layers[i]!.forward], [l.backward, g.layers[i]!.backward]] as const) {
      if (!dir) continue;
      for (const p of Object.keys(dir.kernels.cell.params)) out.push(gd![p]!);
    }
  });
  out.push(g.readout.W, g.readout.b);
  return out;
}

export interface Optimizer {
  readonly name: string;
  /** Updates params in place from grads (same order and lengths every call). */
  step(params: readonly Arr[], grads: readonly Arr[]): void;
}

function checkPairs(params: readonly Arr[], grads: readonly Arr[], state: Float64Array[][]): void {
  if (params.length !== grads.length) throw new Error(`${params.length} parameters but ${grads.length} gradients`);
  params.forEach((p, i) => {
    if (p.length !== grads[i]!.length) throw new Error(`parameter ${i} has ${p.length} elements but its gradient ${grads[i]!.length}`);
    for (const s of state) if (s[i] && s[i]!.length !== p.length) throw new Error(`parameter ${i} changed size between steps`);
  });
}

const positive = (what: string, v: number) => {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${what} must be a positive number, got ${v}`);
};

export interface SgdOptions {
  readonly lr: number;
  /** Heavy-ball momentum μ in [0, 1): v ← μ v + g, θ ← θ − lr v (PyTorch's convention). */
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** L2 penalty λ added to the gradient: g ← g + λ θ. */
  readonly weightDecay?: number;
}

export function sgd(o: SgdOptions): Optimizer {
  positive('learning rate', o.lr);
  const mu = o.momentum ?? 0;
  if (!(mu >= 0 && mu < 1)) throw new Error(`momentum must be in [0, 1), got ${mu}`);
  const wd = o.weightDecay ?? 0;
  const vel: Float64Array[] = [];
  return {
    name: `sgd(lr=${o.lr}${mu ? `, momentum=${mu}` : ''}${o.nesterov ? ', nesterov' : ''})`,
    step(params, grads) {
      checkPairs(params, grads, [vel]);
      params.forEach((p, i) => {
        const g = grads[i]!;
        const v = mu ? (vel[i] ??= new Float64Array(p.length)) : undefined;
        for (let j = 0; j < p.length; j++) {
          let d = g[j]! + wd * p[j]!;
          if (v) {
            v[j] = mu * v[j]! + d;
            d = o.nesterov ? d + mu * v[j]! : v[j]!;
          }
          p[j] -= o.lr * d;
        }
      });
    },
  };
}

export interface AdamOptions {
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/**
 * Kingma & Ba (2015): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε) with
 * m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 */
export function adam(o: AdamOptions = {}): Optimizer {
  const lr = o.lr ?? 1e-3, b1 = o.beta1 ?? 0.9, b2 = o.beta2 ?? 0.999, eps = o.eps ?? 1e-8;
  positive('learning rate', lr);
  positive('eps', eps);
  for (const [n, b] of [['beta1', b1], ['beta2', b2]] as const) if (!(b >= 0 && b < 1)) throw new Error(`${n} must be in [0, 1), got ${b}`);
  const m: Float64Array[] = [];
  const v: Float64Array[] = [];
  let t = 0;
  return {
    name: `adam(lr=${lr})`,
    step(params, grads) {
      checkPairs(params, grads, [m, v]);
      t++;
      const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
      params.forEach((p, i) => {
        const g = grads[i]!;
        const mi = (m[i] ??= new Float64Array(p.length));
        const vi = (v[i] ??= new Float64Array(p.length));
        for (let j = 0; j < p.length; j++) {
          mi[j] = b1 * mi[j]! + (1 - b1) * g[j]!;
          vi[j] = b2 * vi[j]! + (1 - b2) * g[j]! * g[j]!;
          p[j] -= (lr * (mi[j]! / c1)) / (Math.sqrt(vi[j]! / c2) + eps);
        }
      });
    },
  };
}
