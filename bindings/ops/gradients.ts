/**
 * The one convention of every backward op: its last argument, `into`, says where each gradient goes.
 *
 *   into.<name> = a Tensor   the gradient is ADDED to what that tensor holds (parameter gradients accumulate);
 *   into.<name> = null       the gradient is skipped (not computed, returned as null);
 *   into.<name> absent       a zeroed tensor is allocated, filled and returned.
 *
 * Every backward op reads: check its inputs -> `resolveGradients` -> call the kernel. The resolver checks the
 * whole `into` object first (known names only, each absent, null or a live Tensor of the gradient's shape) and
 * allocates only when everything is valid, so a bad argument leaves nothing behind.
 */
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, tensorArg } from './check.ts';

/** The `into` argument of a backward op whose gradients are named `K`. */
export type GradientTargets<K extends string> = { [N in K]?: Tensor | null };

/**
 * What a backward op returns for the gradient named `K`, given its `into` argument `I`: `null` when `into[K]` is
 * `null` (skipped), a Tensor when it is a Tensor or absent (allocated), `Tensor | null` when it may be either.
 */
export type GradientResult<I, K extends string> =
  K extends keyof I ? (I[K] extends null ? null : null extends I[K] ? Tensor | null : Tensor) : Tensor;

/** The gradients a backward op returns, one entry per name in `K`. */
export type Gradients<I, K extends string> = { [N in K]: GradientResult<I, N> };

/** Options of `resolveGradients`. */
export interface ResolveOptions {
  /**
   * Tensors the kernel reads while it adds into the targets: a target sharing storage with one of them is
   * refused (it would be read after being written).
   */
  distinctFrom?: readonly Tensor[];
}

/**
 * Checks `into` against the gradients' shapes and resolves it to one Tensor or null per gradient (see above).
 * A shape of `null` marks a gradient this call cannot produce (e.g. the gradient of an AdaGN scale when the
 * forward had none): giving a Tensor for it is an error, and it resolves to null.
 */
export function resolveGradients<K extends string>(
  op: string, into: GradientTargets<K> | undefined, shapes: Record<K, Shape | null>, options: ResolveOptions = {},
): Record<K, Tensor | null> {
  const names = Object.keys(shapes) as K[];
  if (into !== undefined && (into === null || typeof into !== 'object' || Array.isArray(into))) {
    throw new Error(`${op}: into must be an object { ${names.join('?, ')}? } of gradient targets, got ${into === null ? 'null' : typeof into}`);
  }
  for (const key of Object.keys(into ?? {})) {
    if (!names.includes(key as K)) throw new Error(`${op}: unknown gradient 'into.${key}' (this op computes ${names.join(', ')})`);
  }
  for (const name of names) {
    const target = into?.[name];
    if (target === undefined || target === null) continue;
    const shape = shapes[name];
    if (shape === null) throw new Error(`${op}: into.${name} was given, but this call has no gradient ${name}`);
    const actual = tensorArg(op, `into.${name}`, target);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new Error(`${op}: into.${name} must have shape ${fmt(shape)}, got ${fmt(actual)}`);
    }
    for (const input of options.distinctFrom ?? []) {
      if (overlaps(input, target)) throw new Error(`${op}: into.${name} shares storage with an input; gradients must go to a separate tensor`);
    }
  }
  const resolved = {} as Record<K, Tensor | null>;
  for (const name of names) {
    const shape = shapes[name];
    const target = into?.[name];
    resolved[name] = shape === null || target === null ? null : target ?? Tensor.zeros(shape);
  }
  return resolved;
}

/** The address of a resolved gradient for a kernel: 0 means "skip it". */
export const gradientPtr = (target: Tensor | null): number => (target === null ? 0 : target.ptr);

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.ptr < b.ptr + b.size * 4 && b.ptr < a.ptr + a.size * 4;
}
