/** Dropout (assembly/dropout.ts) with its mask drawn from the counter-based generator. */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { numberArg, sameShape, tensorArg } from './check.ts';
import { optionsArg } from './options.ts';
import { resolveGradients, type GradientResult, type GradientTargets } from './gradients.ts';
import { randUniform } from './random.ts';

export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  seed: number;
  /** Offset of the first element in the random stream. */
  offset: number;
  stream: number;
}

/** y = x * mask with mask = (u >= p) / (1 - p), u uniform from (seed, stream, offset). Returns y and the mask. */
export function dropout(x: Tensor, options: DropoutOptions): { y: Tensor; mask: Tensor } {
  tensorArg('dropout', 'x', x);
  optionsArg('dropout', options, ['p', 'seed', 'offset', 'stream']);
  const p = numberArg('dropout', 'p', options?.p);
  if (p < 0 || p >= 1) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  const u = randUniform(x.shape, { seed: options.seed, offset: options.offset, stream: options.stream });
  const y = new Tensor(x.shape), mask = new Tensor(x.shape);
  wasm().dropoutForward(y.ptr, mask.ptr, x.ptr, u.ptr, x.size, p);
  u.dispose();
  return { y, mask };
}

/** dx = dy * mask, ADDED into `into.dx` when given (the backward ops' convention, ops/gradients.ts). */
export function dropoutBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, mask: Tensor, into?: I): GradientResult<I, 'dx'> {
  const op = 'dropoutBackward';
  sameShape(op, 'mask', tensorArg(op, 'mask', mask), 'dy', tensorArg(op, 'dy', dy));
  const { dx } = resolveGradients(op, into, { dx: dy.shape });
  if (dx !== null) wasm().dropoutBackward(dx.ptr, dy.ptr, mask.ptr, dy.size);
  return dx as GradientResult<I, 'dx'>;
}
