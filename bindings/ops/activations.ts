/**
 * The resnet activations diffusers' `act_fn` names besides SiLU (ops/elementwise.ts), element-wise, forward and
 * backward (assembly/activations.ts): ReLU, exact GELU (x Φ(x), with erf) and Mish (x tanh(softplus(x))). Backward
 * ops compute dx = dy * f'(x) into `into.dx` (ops/gradients.ts).
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { sameShape, tensorArg } from './check.ts';
import { resolveGradients, type GradientResult, type GradientTargets } from './gradients.ts';

type Forward = (y: number, x: number, n: number) => void;
type Backward = (dx: number, dy: number, x: number, n: number) => void;

/** relu(x) = max(x, 0), element-wise (relu(-0) = 0). */
export const relu = (x: Tensor): Tensor => forward('relu', x, wasm().reluForward);
/** dx = dy where x > 0, else 0 (PyTorch's choice at 0). */
export const reluBackward = <I extends GradientTargets<'dx'> = {}>(dy: Tensor, x: Tensor, into?: I): GradientResult<I, 'dx'> =>
  backward('reluBackward', dy, x, wasm().reluBackward, into);

/** gelu(x) = x Φ(x) = x (1 + erf(x / √2)) / 2, element-wise (exact, not the tanh approximation). */
export const gelu = (x: Tensor): Tensor => forward('gelu', x, wasm().geluForward);
/** dx = dy (Φ(x) + x φ(x)), φ the standard normal density. */
export const geluBackward = <I extends GradientTargets<'dx'> = {}>(dy: Tensor, x: Tensor, into?: I): GradientResult<I, 'dx'> =>
  backward('geluBackward', dy, x, wasm().geluBackward, into);

/** mish(x) = x tanh(softplus(x)), element-wise; mish(x) = x for x >= 20 (where tanh(softplus(x)) rounds to 1). */
export const mish = (x: Tensor): Tensor => forward('mish', x, wasm().mishForward);
/** dx = dy mish'(x). */
export const mishBackward = <I extends GradientTargets<'dx'> = {}>(dy: Tensor, x: Tensor, into?: I): GradientResult<I, 'dx'> =>
  backward('mishBackward', dy, x, wasm().mishBackward, into);

function forward(op: string, x: Tensor, kernel: Forward): Tensor {
  const y = new Tensor(tensorArg(op, 'x', x));
  kernel(y.ptr, x.ptr, x.size);
  return y;
}

function backward<I extends GradientTargets<'dx'>>(op: string, dy: Tensor, x: Tensor, kernel: Backward, into?: I): GradientResult<I, 'dx'> {
  sameShape(op, 'x', tensorArg(op, 'x', x), 'dy', tensorArg(op, 'dy', dy));
  const { dx } = resolveGradients(op, into, { dx: x.shape });
  if (dx !== null) kernel(dx.ptr, dy.ptr, x.ptr, x.size);
  return dx as GradientResult<I, 'dx'>;
}
