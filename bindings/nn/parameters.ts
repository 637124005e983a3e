/**
 * A model's parameters, gradients and their names. Layers declare their parameters while the model is built;
 * `allocate(seed)` then lays them out back to back in one flat tensor of values and one of gradients (the size
 * table), so that the optimizer, the EMA, gradient clipping, the all-reduce between workers and checkpoints each
 * see a single buffer, and every parameter is a view into it.
 *
 * Initialisation follows PyTorch's defaults (so models train as their PyTorch twins do): weights and biases of
 * linear and convolution layers uniform in ±1/sqrt(fan_in), norms at gamma = 1, beta = 0. Random numbers come
 * from the counter-based generator at the parameter's own offset, so a parameter's initial value depends only
 * on the seed and its place in the table.
 */
import type { NamedTensor } from '../io/safetensors.ts';
import { fill, addInPlace } from '../ops/elementwise.ts';
import { randUniform } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { checkParameterLimit } from './parameter-limit.ts';
import { Tensor, keep, tidy } from '../tensor.ts';

/** How a parameter starts: uniform in [-bound, bound), or a constant. */
export type Init = { uniform: number } | { constant: number };

export class Parameter {
  /** Set by `ParameterSet.allocate`. */
  value!: Tensor;
  grad!: Tensor;
  readonly size: number;
  constructor(readonly name: string, readonly shape: readonly number[], readonly init: Init, readonly offset: number) {
    this.size = shape.reduce((a, b) => a * b, 1);
  }
}

let initialising = true;

/**
 * Runs `fn`, which builds a model whose every value is loaded afterwards (models/model-loading.ts: from a file
 * that must hold them all), with its parameters left at zero instead of drawn: their initial values would be
 * overwritten, and drawing them is a third of loading a model. Not reentrant.
 */
export function withoutInitialisation<T>(fn: () => T): T {
  if (!initialising) throw new Error('withoutInitialisation: already inside withoutInitialisation');
  initialising = false;
  try {
    return fn();
  } finally {
    initialising = true;
  }
}

export class ParameterSet {
  private readonly list: Parameter[] = [];
  private readonly byName = new Map<string, Parameter>();
  /** All parameter values, flat, in declaration order. */
  values!: Tensor;
  /** All gradients, flat, laid out like `values`. */
  grads!: Tensor;
  size = 0;

  /** Declares a parameter; only before `allocate`. Names follow diffusers' state-dict names. */
  add(name: string, shape: readonly number[], init: Init): Parameter {
    if (this.values) throw new Error(`ParameterSet: cannot add '${name}' after allocate()`);
    if (this.byName.has(name)) throw new Error(`ParameterSet: duplicate parameter name '${name}'`);
    const p = new Parameter(name, shape, init, this.size);
    checkParameterLimit(this.size + p.size, name);
    this.list.push(p);
    this.byName.set(name, p);
    this.size += p.size;
    return p;
  }

  /**
   * Allocates the flat buffers, points every parameter at its slice and initialises the values from `seed`
   * (inside `withoutInitialisation`, leaves them at zero).
   */
  allocate(seed: number): this {
    this.values = keep(Tensor.zeros([this.size]));
    this.grads = keep(Tensor.zeros([this.size]));
    for (const p of this.list) {
      p.value = this.values.subview(p.offset, p.shape);
      p.grad = this.grads.subview(p.offset, p.shape);
      if (initialising) initialise(p, seed);
    }
    return this;
  }

  get parameters(): readonly Parameter[] { return this.list; }

  get(name: string): Parameter {
    const p = this.byName.get(name);
    if (!p) throw new Error(`ParameterSet: no parameter named '${name}'`);
    return p;
  }

  zeroGrads(): void { fill(this.grads, 0); }

  /** Copies of every parameter (or of `source`, a flat buffer laid out like `values`), for a checkpoint. */
  toNamedTensors(source: Tensor = this.values): NamedTensor[] {
    const flat = source.toFloat32Array();
    return this.list.map((p) => ({ name: p.name, shape: [...p.shape], data: flat.slice(p.offset, p.offset + p.size) }));
  }

  /**
   * Copies named tensors into `target` (default: the values). Every parameter must be present with its exact
   * shape; `source` names the file in error messages.
   */
  load(tensors: Map<string, NamedTensor>, source: string, target: Tensor = this.values): void {
    const missing = this.list.filter((p) => !tensors.has(p.name)).map((p) => p.name);
    if (missing.length > 0) {
      throw new Error(`${source} does not match this model: ${missing.length} parameters are missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
    }
    const flat = new Float32Array(this.size);
    for (const p of this.list) {
      const t = tensors.get(p.name)!;
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${source} does not match this model: '${p.name}' is [${t.shape.join(', ')}] in the file, [${p.shape.join(', ')}] in the model`);
      }
      flat.set(t.data, p.offset);
    }
    target.view().set(flat);
  }
}

function initialise(p: Parameter, seed: number): void {
  if ('constant' in p.init) {
    fill(p.value, p.init.constant);
    return;
  }
  const bound = p.init.uniform;
  tidy(() => {
    // value = -bound + 2 * bound * u, u uniform in [0, 1) at this parameter's offset of the init stream
    const u = randUniform([...p.shape], { seed, offset: p.offset, stream: STREAMS.parameterInit });
    fill(p.value, -bound);
    addInPlace(p.value, u, 2 * bound);
  });
}

/** PyTorch's default bound for linear and convolution weights and biases: 1 / sqrt(fan_in). */
export function defaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}
