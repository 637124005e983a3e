/**
 * Fully connected layers (assembly/linear.ts): `linear` computes y = x · wᵀ + b with w in PyTorch's [OUT, IN]
 * layout, `linearBackward` its gradients. Each output row depends only on its input row (bit for bit), so a
 * batch item gets the same result whatever the batch size.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, tensorArg } from './check.ts';
import { gradientPtr, resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

/** assembly/linear.ts */
export interface LinearKernels {
  linearForward(y: number, x: number, w: number, b: number, N: number, IN: number, OUT: number): void;
  linearForwardScalar(y: number, x: number, w: number, b: number, N: number, IN: number, OUT: number): void;
  linearBackward(dx: number, dw: number, db: number, dy: number, x: number, w: number, N: number, IN: number, OUT: number): void;
  linearBackwardScalar(dx: number, dw: number, db: number, dy: number, x: number, w: number, N: number, IN: number, OUT: number): void;
}

/**
 * y = x · wᵀ + b, as PyTorch's nn.Linear.
 * @param x [..., IN]: any number of leading dimensions (at least one dimension in all).
 * @param w [OUT, IN].
 * @param b [OUT], or null for no bias.
 * @returns y [..., OUT].
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const { rows, IN, OUT } = linearShapes('linear', x, w);
  if (b !== null) {
    const bs = tensorArg('linear', 'b', b, 1, '[OUT]');
    if (bs[0] !== OUT) throw new Error(`linear: b must have ${OUT} elements (OUT of w ${fmt(w.shape)}), got ${fmt(bs)}`);
  }
  const y = new Tensor([...x.shape.slice(0, -1), OUT]);
  wasm().linearForward(y.ptr, x.ptr, w.ptr, b === null ? 0 : b.ptr, rows, IN, OUT);
  return y;
}

/**
 * Gradients of y = x · wᵀ + b for the upstream gradient dy: dx = dy · w, dw = dyᵀ · x, db = column sums of dy.
 * `into` follows the backward ops' convention (ops/gradients.ts): dx [..., IN] like x, dw [OUT, IN] like w,
 * db [OUT] (pass `null` for a layer without bias).
 * @param dy [..., OUT], the shape of y.
 * @param x [..., IN], the layer's input.
 * @param w [OUT, IN].
 * @returns the gradients, `null` for the skipped ones.
 */
export function linearBackward<I extends GradientTargets<'dx' | 'dw' | 'db'> = {}>(dy: Tensor, x: Tensor, w: Tensor, into?: I):
  Gradients<I, 'dx' | 'dw' | 'db'> {
  const op = 'linearBackward';
  const { rows, IN, OUT } = linearShapes(op, x, w);
  const yShape = [...x.shape.slice(0, -1), OUT], dys = tensorArg(op, 'dy', dy);
  if (dys.length !== yShape.length || dys.some((d, i) => d !== yShape[i])) {
    throw new Error(`${op}: dy must be ${fmt(yShape)}, the shape of y for x ${fmt(x.shape)} and w ${fmt(w.shape)}, got ${fmt(dys)}`);
  }
  const g = resolveGradients(op, into, { dx: x.shape, dw: w.shape, db: [OUT] });
  wasm().linearBackward(gradientPtr(g.dx), gradientPtr(g.dw), gradientPtr(g.db), dy.ptr, x.ptr, w.ptr, rows, IN, OUT);
  return g as Gradients<I, 'dx' | 'dw' | 'db'>;
}

/** Checks x [..., IN] and w [OUT, IN]; returns the sizes, with every leading dimension of x folded into rows. */
function linearShapes(op: string, x: Tensor, w: Tensor): { rows: number; IN: number; OUT: number } {
  const xs = tensorArg(op, 'x', x);
  const ws = tensorArg(op, 'w', w, 2, '[OUT, IN]');
  if (xs.length < 1) throw new Error(`${op}: x must have at least one dimension [..., IN], got ${fmt(xs)}`);
  const IN = xs[xs.length - 1];
  if (ws[1] !== IN) {
    throw new Error(`${op}: w has ${ws[1]} input features, x has ${IN} (x ${fmt(xs)}, w ${fmt(ws)} is [OUT, IN])`);
  }
  return { rows: xs.slice(0, -1).reduce((a, b) => a * b, 1), IN, OUT: ws[0] };
}
