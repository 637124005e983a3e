/**
 * 2-D convolution (assembly/conv2d.ts): NCHW float32, weights [K, C, R, S] as in PyTorch, one stride and one
 * symmetric zero padding for both axes. The kernels lower each image to matrix products (im2col + gemm) and
 * need a workspace, which these ops allocate for the call and free afterwards.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels, R, S kernel size,
 * OH = floor((H + 2·padding - R) / stride) + 1, OW likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, sameShape, tensorArg } from './check.ts';
import { optionsArg } from './options.ts';

/** assembly/conv2d.ts. Pointers are byte addresses; `b`, `db` (and `dw`) may be 0 to mean "none". */
export interface Conv2dKernels {
  /** Floats of `work` the SIMD kernels need (0 for a 1x1, stride 1, padding 0 convolution). */
  conv2dWorkspaceSize(C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): number;
  conv2dForward(y: number, x: number, w: number, b: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
  conv2dForwardScalar(y: number, x: number, w: number, b: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
  conv2dBackwardInput(dx: number, dy: number, w: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
  conv2dBackwardInputScalar(dx: number, dy: number, w: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
  conv2dBackwardWeight(dw: number, db: number, dy: number, x: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
  conv2dBackwardWeightScalar(dw: number, db: number, dy: number, x: number, work: number,
    N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, padding: number): void;
}

export interface Conv2dOptions {
  /** Step between neighbouring output positions, for both axes: an integer >= 1. Default 1. */
  stride?: number;
  /** Zeros added on every side of the input, for both axes: an integer >= 0. Default 0. */
  padding?: number;
}

/** Where `conv2dBackward` puts each gradient: a Tensor to ADD into, `null` to skip it, absent to allocate one. */
export interface Conv2dInto {
  /** [N, C, H, W], like x. */
  dx?: Tensor | null;
  /** [K, C, R, S], like the weight. */
  dw?: Tensor | null;
  /** [K], like the bias. */
  db?: Tensor | null;
}

/** The gradients of `conv2d`; a gradient skipped with `into.<name> = null` is null. */
export interface Conv2dGradients {
  dx: Tensor | null;
  dw: Tensor | null;
  db: Tensor | null;
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
 * db [K] (the sum of dy over N, OH, OW). `into` follows the ops' convention (see bindings/ops/index.ts): each
 * gradient is ADDED into the Tensor named there, skipped when it is null, and allocated (zeroed) when absent.
 */
export function conv2dBackward(
  dy: Tensor, x: Tensor, w: Tensor, options: Conv2dOptions = {}, into: Conv2dInto = {},
): Conv2dGradients {
  const g = convGeometry('conv2dBackward', x, w, options);
  const dyShape = tensorArg('conv2dBackward', 'dy', dy, 4, '[N, K, OH, OW]');
  sameShape('conv2dBackward', 'y', [g.N, g.K, g.OH, g.OW], 'dy', dyShape);
  checkInto('dx', into.dx, 'x', x.shape);
  checkInto('dw', into.dw, 'weight', w.shape);
  checkInto('db', into.db, 'bias', [g.K]);
  const dx = into.dx === undefined ? Tensor.zeros(x.shape) : into.dx;
  const dw = into.dw === undefined ? Tensor.zeros(w.shape) : into.dw;
  const db = into.db === undefined ? Tensor.zeros([g.K]) : into.db;
  withWorkspace(g, (work) => {
    if (dx !== null) wasm().conv2dBackwardInput(dx.ptr, dy.ptr, w.ptr, work, ...g.sizes);
    if (dw !== null || db !== null) {
      wasm().conv2dBackwardWeight(dw?.ptr ?? 0, db?.ptr ?? 0, dy.ptr, x.ptr, work, ...g.sizes);
    }
  });
  return { dx, dw, db };
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

/** Checks a gradient named in `into`: absent, null, or a live Tensor shaped like what it is the gradient of. */
function checkInto(name: string, given: unknown, of: string, shape: Shape): void {
  if (given === undefined || given === null) return;
  sameShape('conv2dBackward', of, shape, `into.${name}`, tensorArg('conv2dBackward', `into.${name}`, given));
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
