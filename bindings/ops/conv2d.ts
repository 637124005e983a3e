/**
 * 2-D convolution (assembly/conv2d.ts): NCHW float32, weights [K, C, R, S] as in PyTorch, one stride and one
 * symmetric zero padding for both axes. The kernels lower each image to matrix products (im2col + gemm) and
 * need a workspace, which these ops allocate for the call and free afterwards.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels, R, S kernel size,
 * OH = floor((H + 2·padding - R) / stride) + 1, OW likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, intArg, sameShape, tensorArg } from './check.ts';
import { optionsArg } from './options.ts';
import { gradientPtr, resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

export interface Conv2dOptions {
  /** Step between neighbouring output positions, for both axes: an integer >= 1. Default 1. */
  stride?: number;
  /** Zeros added on every side of the input, for both axes: an integer >= 0. Default 0. */
  padding?: number;
}

/**
 * y [N, K, OH, OW] = the convolution of x [N, C, H, W] with w [K, C, R, S], plus b [K] per output channel
 * (pass null for no bias). Options: `stride` (default 1) and `padding` (default 0), shared by both axes.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const g = convGeometry('conv2d', x, w, options);
  if (b !== null) {
    const bs = tensorArg('conv2d', 'bias', b, 1, '[K]');
    if (bs[0] !== g.K) throw new Error(`conv2d: bias must be [${g.K}] for weight ${fmt(w.shape)}, got ${fmt(bs)}`);
  }
  const y = new Tensor([g.N, g.K, g.OH, g.OW]);
  withWorkspace(g, (work) => {
    wasm().conv2dForward(y.ptr, x.ptr, w.ptr, b?.ptr ?? 0, work, ...g.sizes);
  });
  return y;
}

/**
 * The gradients of y = conv2d(x, w, b, options) given dy [N, K, OH, OW]: dx [N, C, H, W], dw [K, C, R, S] and
 * db [K] (the sum of dy over N, OH, OW). `into` follows the backward ops' convention (ops/gradients.ts).
 */
export function conv2dBackward<I extends GradientTargets<'dx' | 'dw' | 'db'> = {}>(
  dy: Tensor, x: Tensor, w: Tensor, options: Conv2dOptions = {}, into?: I,
): Gradients<I, 'dx' | 'dw' | 'db'> {
  const op = 'conv2dBackward';
  const g = convGeometry(op, x, w, options);
  sameShape(op, 'y', [g.N, g.K, g.OH, g.OW], 'dy', tensorArg(op, 'dy', dy, 4, '[N, K, OH, OW]'));
  const { dx, dw, db } = resolveGradients(op, into, { dx: x.shape, dw: w.shape, db: [g.K] });
  withWorkspace(g, (work) => {
    if (dx !== null) wasm().conv2dBackwardInput(dx.ptr, dy.ptr, w.ptr, work, ...g.sizes);
    if (dw !== null || db !== null) wasm().conv2dBackwardWeight(gradientPtr(dw), gradientPtr(db), dy.ptr, x.ptr, work, ...g.sizes);
  });
  return { dx, dw, db } as Gradients<I, 'dx' | 'dw' | 'db'>;
}

type Sizes = [N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number];

interface Geometry { N: number; K: number; OH: number; OW: number; sizes: Sizes }

/** Validates x, w and the options; returns the sizes in the kernels' argument order and the output size. */
function convGeometry(op: string, x: Tensor, w: Tensor, options: Conv2dOptions): Geometry {
  const [N, C, H, W] = tensorArg(op, 'x', x, 4, '[N, C, H, W]');
  const [K, Cw, R, S] = tensorArg(op, 'weight', w, 4, '[K, C, R, S]');
  if (Cw !== C) {
    throw new Error(`${op}: weight has ${Cw} input channels, x has ${C} (x ${fmt(x.shape)}, weight ${fmt(w.shape)})`);
  }
  const { stride = 1, padding = 0 } = optionsArg(op, options, ['stride', 'padding']);
  intArg(op, 'stride', stride, 1);
  intArg(op, 'padding', padding, 0);
  const OH = Math.floor((H + 2 * padding - R) / stride) + 1;
  const OW = Math.floor((W + 2 * padding - S) / stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new Error(`${op}: the output would be empty (${OH} x ${OW}): kernel ${R} x ${S} does not fit the padded ` +
      `input ${H + 2 * padding} x ${W + 2 * padding} (x ${fmt(x.shape)}, weight ${fmt(w.shape)}, padding ${padding})`);
  }
  return { N, K, OH, OW, sizes: [N, C, H, W, K, R, S, stride, padding] };
}

/** Runs `fn` with a workspace sized for these convolution sizes, freed afterwards. */
function withWorkspace(g: Geometry, fn: (work: number) => void): void {
  const [, C, H, W, K, R, S, stride, padding] = g.sizes;
  const work = new Tensor([wasm().conv2dWorkspaceSize(C, H, W, K, R, S, stride, padding)]);
  try {
    fn(work.ptr);
  } finally {
    work.dispose();
  }
}
