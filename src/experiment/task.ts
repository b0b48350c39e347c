// The notes' subject–verb agreement task as a synthetic language: "The cat, which ate, slept, …, was full".

import type { Arr, Batch } from '../runtime/index.js';
import { Random } from '../runtime/random.js';

/** A sentence is a subject, `lag` words of a relative clause, then the slot where the verb goes. */
export const SINGULAR = ['cat', 'dog', 'guy', 'student'] as const;
export const PLURAL = ['cats', 'dogs', 'guys', 'students'] as const;
export const CLAUSE = ['which', 'ate', 'slept', 'played', 'and', 'had', 'a', 'good', 'day', 'at', 'the', 'airport'] as const;
/** The verb slot: the network reads ',' and must answer 'was' (class 0) or 'were' (class 1). */
export const VERB_SLOT = ',';
export const VOCAB: readonly string[] = [...SINGULAR, ...PLURAL, ...CLAUSE, VERB_SLOT];
export const VERBS = ['was', 'were'] as const;

export interface Sentence {
  readonly words: readonly string[];
  readonly plural: boolean;
}

export function sentence(rng: Random, lag: number): Sentence {
  const plural = rng.next() < 0.5;
  const subject = (plural ? PLURAL : SINGULAR)[rng.below(SINGULAR.length)]!;
  const clause = Array.from({ length: lag }, () => CLAUSE[rng.below(CLAUSE.length)]!);
  return { words: [subject, ...clause, VERB_SLOT], plural };
}

/**
 * A batch of sentences as one-hot inputs [T][B][|V|] with T = lag + 2; the only target is at the
 * last step (the verb slot): 0 for 'was', 1 for 'were'. Every other step has target -1.
 */
export function agreementBatch<A extends Arr>(rng: Random, lag: number, batch: number, array: new (n: number) => A): Batch<A> & { sentences: Sentence[] } {
  if (!(Number.isInteger(lag) && lag >= 0)) throw new Error(`lag must be a non-negative integer, got ${lag}`);
  const steps = lag + 2;
  const V = VOCAB.length;
  const x = new array(steps * batch * V);
  const targets = new Int32Array(steps * batch).fill(-1);
  const sentences: Sentence[] = [];
  for (let b = 0; b < batch; b++) {
    const s = sentence(rng, lag);
    sentences.push(s);
    s.words.forEach((w, t) => (x[(t * batch + b) * V + VOCAB.indexOf(w)] = 1));
    targets[(steps - 1) * batch + b] = s.plural ? 1 : 0;
  }
  return { steps, batch, x, targets, sentences };
}
