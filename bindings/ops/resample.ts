/**
 * Resampling feature maps by 2 (assembly/resample.ts), forward and backward: 2x2 average pooling (diffusers'
 * Downsample2D without a convolution, in ResnetBlock2D(down=True)), FIR resampling with the (1, 3, 3, 1) kernel
 * (diffusers' upfirdn2d in FirDownsample2D / FirUpsample2D and the NCSN++ resnets' kernel="fir"), and zero
 * padding (Downsample2D with padding 0 pads the right and bottom by one). All take NCHW tensors x [N, C, H, W];
 * backward ops take the optional last argument `into` of ops/gradients.ts.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, intArg, tensorArg } from './check.ts';
import { resolveGradients, type GradientResult, type GradientTargets } from './gradients.ts';

type Kernel = (out: number, x: number, N: number, C: number, H: number, W: number) => void;

/** The mean of each 2x2 block: x [N, C, H, W] (H, W even) -> [N, C, H/2, W/2], summed in PyTorch's order. */
export function avgPool2x2(x: Tensor): Tensor {
  return halve('avgPool2x2', x, wasm().avgPool2x2Forward);
}

/** The gradient of `avgPool2x2`: dy [N, C, H/2, W/2] -> dx [N, C, H, W] (dy / 4 to each of its 4 inputs). */
export function avgPool2x2Backward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, into?: I): GradientResult<I, 'dx'> {
  return double('avgPool2x2Backward', dy, wasm().avgPool2x2Backward, into);
}

/**
 * FIR downsampling by 2 with the (1, 3, 3, 1) kernel (normalised to sum 1, zeros outside the image): x [N, C, H, W]
 * (H, W even) -> [N, C, H/2, W/2], y[h, w] = Σ_{a,b} k_a k_b / 64 · x[2h - 1 + a, 2w - 1 + b]. diffusers'
 * downsample_2d(x, kernel=(1, 3, 3, 1)).
 */
export function firDownsample2x(x: Tensor): Tensor {
  return halve('firDownsample2x', x, wasm().firDownsample2xForward);
}

/** The gradient of `firDownsample2x`: dy [N, C, H/2, W/2] -> dx [N, C, H, W]. */
export function firDownsample2xBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, into?: I): GradientResult<I, 'dx'> {
  return double('firDownsample2xBackward', dy, wasm().firDownsample2xBackward, into);
}

/**
 * FIR upsampling by 2 with the (1, 3, 3, 1) kernel (gain 1: a constant image stays constant away from the
 * border): x [N, C, H, W] -> [N, C, 2H, 2W], y[2h + p] = (x[h - 1] + 3 x[h]) / 4 for p = 0 and (3 x[h] + x[h + 1])
 * / 4 for p = 1 along each axis. diffusers' upsample_2d(x, kernel=(1, 3, 3, 1)).
 */
export function firUpsample2x(x: Tensor): Tensor {
  const [N, C, H, W] = tensorArg('firUpsample2x', 'x', x, 4, '[N, C, H, W]');
  const y = new Tensor([N, C, 2 * H, 2 * W]);
  wasm().firUpsample2xForward(y.ptr, x.ptr, N, C, H, W);
  return y;
}

/** The gradient of `firUpsample2x`: dy [N, C, 2H, 2W] -> dx [N, C, H, W]. */
export function firUpsample2xBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, into?: I): GradientResult<I, 'dx'> {
  const op = 'firUpsample2xBackward';
  const [N, C, H2, W2] = evenPlanes(op, dy, 'dy', '[N, C, 2H, 2W]');
  const { dx } = resolveGradients(op, into, { dx: [N, C, H2 / 2, W2 / 2] });
  if (dx !== null) wasm().firUpsample2xBackward(dx.ptr, dy.ptr, N, C, H2 / 2, W2 / 2);
  return dx as GradientResult<I, 'dx'>;
}

/** Zeros around the image, per side (integers >= 0). */
export interface Padding { top: number; bottom: number; left: number; right: number }

/** x [N, C, H, W] -> [N, C, top + H + bottom, left + W + right], x inside a border of zeros. */
export function pad2d(x: Tensor, padding: Padding): Tensor {
  const [N, C, H, W] = tensorArg('pad2d', 'x', x, 4, '[N, C, H, W]');
  const { top, bottom, left, right } = checkPadding('pad2d', padding);
  const y = new Tensor([N, C, top + H + bottom, left + W + right]);
  wasm().pad2dForward(y.ptr, x.ptr, N, C, H, W, top, bottom, left, right);
  return y;
}

/** The gradient of `pad2d`: dy [N, C, top + H + bottom, left + W + right] cropped to dx [N, C, H, W]. */
export function pad2dBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, padding: Padding, into?: I): GradientResult<I, 'dx'> {
  const op = 'pad2dBackward';
  const [N, C, PH, PW] = tensorArg(op, 'dy', dy, 4, '[N, C, H + top + bottom, W + left + right]');
  const { top, bottom, left, right } = checkPadding(op, padding);
  const H = PH - top - bottom, W = PW - left - right;
  if (H < 0 || W < 0) throw new Error(`${op}: dy ${fmt(dy.shape)} is smaller than the padding (top ${top}, bottom ${bottom}, left ${left}, right ${right})`);
  const { dx } = resolveGradients(op, into, { dx: [N, C, H, W] });
  if (dx !== null) wasm().pad2dBackward(dx.ptr, dy.ptr, N, C, H, W, top, bottom, left, right);
  return dx as GradientResult<I, 'dx'>;
}

/** A forward that halves H and W. */
function halve(op: string, x: Tensor, kernel: Kernel): Tensor {
  const [N, C, H, W] = evenPlanes(op, x, 'x', '[N, C, H, W]');
  const y = new Tensor([N, C, H / 2, W / 2]);
  kernel(y.ptr, x.ptr, N, C, H, W);
  return y;
}

/** A backward whose input gradient is twice the size of dy: dy [N, C, h, w] -> dx [N, C, 2h, 2w]. */
function double<I extends GradientTargets<'dx'>>(op: string, dy: Tensor, kernel: Kernel, into?: I): GradientResult<I, 'dx'> {
  const [N, C, h, w] = tensorArg(op, 'dy', dy, 4, '[N, C, H/2, W/2]');
  const { dx } = resolveGradients(op, into, { dx: [N, C, 2 * h, 2 * w] });
  if (dx !== null) kernel(dx.ptr, dy.ptr, N, C, 2 * h, 2 * w);
  return dx as GradientResult<I, 'dx'>;
}

function evenPlanes(op: string, x: Tensor, name: string, legend: string): number[] {
  const shape = tensorArg(op, name, x, 4, legend);
  if (shape[2] % 2 !== 0 || shape[3] % 2 !== 0) throw new Error(`${op}: ${name} must have an even height and width, got ${fmt(shape)}`);
  return [...shape];
}

function checkPadding(op: string, padding: Padding): Padding {
  if (padding === null || typeof padding !== 'object') {
    throw new Error(`${op}: padding must be an object { top, bottom, left, right } of integers >= 0, got ${padding === null ? 'null' : typeof padding}`);
  }
  const sides = ['top', 'bottom', 'left', 'right'] as const;
  for (const key of Object.keys(padding)) {
    if (!(sides as readonly string[]).includes(key)) throw new Error(`${op}: unknown padding side '${key}' (sides are top, bottom, left, right)`);
  }
  for (const side of sides) intArg(op, `padding.${side}`, padding[side], 0);
  return padding;
}
