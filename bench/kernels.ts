/**
 * The kernels the benchmarks time, each on the shape the benchmark's U-Net gives it, with its flop count and its
 * scalar twin: one definition for Node's report (bench/main.ts) and for the portable engine benchmark
 * (engine.ts: the page, `npm run bench:engines`). Portable: the library's core and tensors only.
 *
 *   matmul           C = A·B, n×n by n×n (assembly/matmul.ts); 2·n³ flops
 *   conv2d           im2col + GEMM (assembly/conv2d.ts); forward, backward-input (dx) and backward-filter (dW)
 *                    each 2·N·K·OH·OW·C·R·S flops
 *   attention        softmax(q·kᵀ/sqrt(D))·v forward + backward with the probabilities kept, as the U-Net runs it
 *                    (assembly/attention.ts); 12·T²·D flops per head (softmax not counted)
 *   group norm       forward + backward (assembly/groupnorm.ts): memory-bound, no flop count
 */
import { wasm } from '../bindings/core/instance.ts';
import { Tensor } from '../bindings/tensor.ts';
import { pseudoRandom } from './timing.ts';

/** A kernel's inputs allocated: its SIMD call, its scalar twin, the tensors (to read results) and their release. */
export interface PreparedKernel {
  run(): void;
  scalar(): void;
  tensors: Record<string, Tensor>;
  dispose(): void;
}

/** A kernel on one shape. */
export interface KernelCase {
  /** A short name, e.g. 'matmul256', 'conv3x3.dW'. */
  id: string;
  /** What runs, e.g. 'conv2d 3x3 backward-filter (dW)'. */
  op: string;
  shape: string;
  /** Flops of one call; 0 for memory-bound kernels. */
  flops: number;
  prepare(): PreparedKernel;
}

// ---------------------------------------------------------------------------------------------------------
// matmul

function matmulCase(n: number): KernelCase {
  return {
    id: `matmul${n}`, op: 'matmul', shape: `${n}×${n}·${n}×${n}`, flops: 2 * n ** 3,
    prepare() {
      const a = Tensor.from(pseudoRandom(n * n, 1), [n, n]), b = Tensor.from(pseudoRandom(n * n, 2), [n, n]), c = new Tensor([n, n]);
      return {
        run: () => wasm().matmul(a.ptr, b.ptr, c.ptr, n, n, n, 0),
        scalar: () => wasm().matmulScalar(a.ptr, b.ptr, c.ptr, n, n, n, 0),
        tensors: { a, b, c },
        dispose: () => [a, b, c].forEach((t) => t.dispose()),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// conv2d

/** A convolution: input [N, C, H, W], K filters of R×R, stride, padding. */
export interface ConvSpec { N: number; C: number; H: number; W: number; K: number; R: number; stride: number; padding: number }
export type ConvPass = 'forward' | 'input' | 'weight';

/** 3x3, padding 1, [16, 64, 32, 32] -> 64: the U-Net's resnet convolution. */
export const CONV_MAIN: ConvSpec = { N: 16, C: 64, H: 32, W: 32, K: 64, R: 3, stride: 1, padding: 1 };
/** 1x1, [16, 128, 32, 32] -> 64: a resnet shortcut. */
export const CONV_POINTWISE: ConvSpec = { N: 16, C: 128, H: 32, W: 32, K: 64, R: 1, stride: 1, padding: 0 };
/** 3x3 stride 2: the downsampler. */
export const CONV_STRIDE2: ConvSpec = { N: 16, C: 64, H: 32, W: 32, K: 64, R: 3, stride: 2, padding: 1 };

const PASS_NAMES: Record<ConvPass, string> = { forward: 'forward', input: 'backward-input (dx)', weight: 'backward-filter (dW)' };

/** The output's height and width. */
export function convOutput({ H, W, R, stride, padding }: ConvSpec): [number, number] {
  return [Math.floor((H + 2 * padding - R) / stride) + 1, Math.floor((W + 2 * padding - R) / stride) + 1];
}

function convCase(id: string, s: ConvSpec, pass: ConvPass): KernelCase {
  const { N, C, H, W, K, R, stride, padding } = s;
  const [OH, OW] = convOutput(s);
  return {
    id, op: `conv2d ${R}x${R}${stride > 1 ? ` stride ${stride}` : ''} ${PASS_NAMES[pass]}`,
    shape: `[${N}, ${C}, ${H}, ${W}] -> ${K}${R > 1 ? `, padding ${padding}` : ''}`,
    flops: 2 * N * K * OH * OW * C * R * R,
    prepare() {
      const x = Tensor.from(pseudoRandom(N * C * H * W, 1), [N, C, H, W]);
      const w = Tensor.from(pseudoRandom(K * C * R * R, 2).map((v) => v * 0.05), [K, C, R, R]);
      const b = Tensor.from(pseudoRandom(K, 3), [K]);
      const dy = Tensor.from(pseudoRandom(N * K * OH * OW, 4), [N, K, OH, OW]);
      const y = new Tensor([N, K, OH, OW]), dx = Tensor.zeros([N, C, H, W]), dw = Tensor.zeros([K, C, R, R]);
      const work = new Tensor([Math.max(1, wasm().conv2dWorkspaceSize(C, H, W, K, R, R, stride, padding))]);
      const sizes = [N, C, H, W, K, R, R, stride, padding] as const;
      const call = (scalar: boolean) => {
        const k = wasm();
        if (pass === 'forward') return () => (scalar ? k.conv2dForwardScalar : k.conv2dForward)(y.ptr, x.ptr, w.ptr, b.ptr, work.ptr, ...sizes);
        if (pass === 'input') return () => (scalar ? k.conv2dBackwardInputScalar : k.conv2dBackwardInput)(dx.ptr, dy.ptr, w.ptr, work.ptr, ...sizes);
        return () => (scalar ? k.conv2dBackwardWeightScalar : k.conv2dBackwardWeight)(dw.ptr, 0, dy.ptr, x.ptr, work.ptr, ...sizes);
      };
      return {
        run: call(false), scalar: call(true), tensors: { x, w, b, dy, y, dx, dw },
        dispose: () => [x, w, b, dy, y, dx, dw, work].forEach((t) => t.dispose()),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// attention and group norm

/** q, k, v of [B, heads, T, D]. */
export const ATTENTION_SHAPE = [16, 4, 64, 32] as const;

function attentionCase(): KernelCase {
  const [B, HEADS, T, D] = ATTENTION_SHAPE;
  const BH = B * HEADS;
  return {
    id: 'attention', op: 'attention core fwd+bwd (probabilities kept, as the U-Net)', shape: `[${ATTENTION_SHAPE.join(', ')}]`,
    flops: 12 * T * T * D * BH,
    prepare() {
      const shape = [...ATTENTION_SHAPE];
      const [q, k, v, dO] = [1, 2, 3, 4].map((seed) => Tensor.from(pseudoRandom(BH * T * D, seed), shape));
      const o = new Tensor(shape), probs = new Tensor([B, HEADS, T, T]), work = new Tensor([T, T]);
      const [dq, dk, dv] = [0, 1, 2].map(() => Tensor.zeros(shape));
      const call = (scalar: boolean) => () => {
        const w = wasm();
        (scalar ? w.attentionForwardScalar : w.attentionForward)(o.ptr, probs.ptr, q.ptr, k.ptr, v.ptr, BH, T, D);
        (scalar ? w.attentionBackwardScalar : w.attentionBackward)(dq.ptr, dk.ptr, dv.ptr, dO.ptr, q.ptr, k.ptr, v.ptr,
          probs.ptr, work.ptr, BH, T, D);
      };
      return {
        run: call(false), scalar: call(true), tensors: { q, k, v, dO, dq, dk, dv },
        dispose: () => [q, k, v, dO, o, probs, work, dq, dk, dv].forEach((t) => t.dispose()),
      };
    },
  };
}

/** [N, C, H, W] and G groups. */
export const GROUP_NORM_SHAPE = { N: 16, C: 64, H: 32, W: 32, G: 32 } as const;

function groupNormCase(): KernelCase {
  const { N, C, H, W, G } = GROUP_NORM_SHAPE;
  return {
    id: 'groupNorm', op: 'group norm forward+backward', shape: `[${N}, ${C}, ${H}, ${W}], ${G} groups`, flops: 0,
    prepare() {
      const size = N * C * H * W;
      const x = Tensor.from(pseudoRandom(size, 1), [N, C, H, W]), dy = Tensor.from(pseudoRandom(size, 2), [N, C, H, W]);
      const gamma = Tensor.from(pseudoRandom(C, 3), [C]), beta = Tensor.from(pseudoRandom(C, 4), [C]);
      const y = new Tensor([N, C, H, W]), mean = new Tensor([N, G]), rstd = new Tensor([N, G]);
      const dx = Tensor.zeros([N, C, H, W]), dgamma = Tensor.zeros([C]), dbeta = Tensor.zeros([C]);
      const call = (scalar: boolean) => () => {
        const k = wasm();
        (scalar ? k.groupNormForwardScalar : k.groupNormForward)(y.ptr, mean.ptr, rstd.ptr, x.ptr, gamma.ptr, beta.ptr, 0, 0, N, C, H * W, G, 1e-5);
        (scalar ? k.groupNormBackwardScalar : k.groupNormBackward)(dx.ptr, dgamma.ptr, dbeta.ptr, 0, 0, dy.ptr, x.ptr,
          mean.ptr, rstd.ptr, gamma.ptr, beta.ptr, 0, N, C, H * W, G);
      };
      return {
        run: call(false), scalar: call(true), tensors: { x, dy, y, dx },
        dispose: () => [x, dy, gamma, beta, y, mean, rstd, dx, dgamma, dbeta].forEach((t) => t.dispose()),
      };
    },
  };
}

/** Every kernel case, in the order reports list them. */
export const KERNELS: readonly KernelCase[] = [
  matmulCase(256), matmulCase(512),
  convCase('conv3x3', CONV_MAIN, 'forward'), convCase('conv3x3.dx', CONV_MAIN, 'input'), convCase('conv3x3.dW', CONV_MAIN, 'weight'),
  convCase('conv1x1', CONV_POINTWISE, 'forward'), convCase('conv3x3s2', CONV_STRIDE2, 'forward'),
  attentionCase(), groupNormCase(),
];

/** The kernel case named `id`. */
export function kernel(id: string): KernelCase {
  const found = KERNELS.find((k) => k.id === id);
  if (!found) throw new Error(`bench: no kernel '${id}' (known: ${KERNELS.map((k) => k.id).join(', ')})`);
  return found;
}
