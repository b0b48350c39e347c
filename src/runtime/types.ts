// The interface every generated kernel module implements (its f32 and f64 exports).

export type Arr = Float32Array | Float64Array;

export interface CellInfo {
  readonly name: string;
  readonly sizes: readonly string[];
  readonly inputs: Readonly<Record<string, string>>;
  readonly states: Readonly<Record<string, string>>;
  readonly output: string;
  readonly params: Readonly<Record<string, string>>;
  /** Each parameter's role, read off the cell's structure by `cellgen build` (src/derive/roles.ts). */
  readonly roles?: Readonly<Record<string, string>>;
}

export interface ForwardOptions<A extends Arr> {
  readonly steps: number;
  readonly batch: number;
  readonly init?: Partial<Record<string, A>>;
  readonly lengths?: Int32Array;
}

export interface Kernels<A extends Arr> {
  readonly cell: CellInfo;
  paramShapes(sizes: never): Readonly<Record<string, readonly number[]>>;
  forward(sizes: never, params: never, inputs: never, opts: ForwardOptions<A>): { states: Record<string, A>; tape: unknown };
  backward(tape: never, dStates: Partial<Record<string, A>>): { params: Record<string, A>; inputs: Record<string, A>; init: Record<string, A> };
}

/** Calls kernels with plain records (the generated types are precise; the runtime is generic). */
export interface AnyKernels<A extends Arr> {
  readonly cell: CellInfo;
  paramShapes(sizes: Record<string, number>): Readonly<Record<string, readonly number[]>>;
  forward(sizes: Record<string, number>, params: Record<string, A>, inputs: Record<string, A>, opts: ForwardOptions<A>): { states: Record<string, A>; tape: unknown };
  backward(tape: unknown, dStates: Partial<Record<string, A>>): { params: Record<string, A>; inputs: Record<string, A>; init: Record<string, A> };
}

export const asAny = <A extends Arr>(k: Kernels<A>): AnyKernels<A> => k as unknown as AnyKernels<A>;
