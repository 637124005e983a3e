/**
 * 2-D convolutions (assembly/conv2d.ts: im2col + GEMM) on the U-Net's shapes, against TF.js-wasm (XNNPACK):
 *
 *   3x3, padding 1, [16, 64, 32, 32] -> 64:  forward (target >= 1.0x TF.js), backward-input (>= 8x TF.js's own
 *     Conv2DBackpropInput kernel), backward-filter (>= 70% of peak; TF.js-wasm has no kernel for it, so its
 *     row shows the error and the hand-written workaround: dW as a forward convolution of transposed tensors)
 *   1x1, [16, 128, 32, 32] -> 64 (a resnet shortcut) and 3x3 stride 2 (the downsampler): forward, >= 60% of peak
 *
 * Flops: 2·N·K·OH·OW·C·R·S per pass (the two backward passes each cost as much as the forward).
 */
import type { Tensor4D } from '@tensorflow/tfjs';
import { wasm } from '../bindings/core/instance.ts';
import { Tensor } from '../bindings/tensor.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case, type Timings } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { thrownBy, tidyVoid, type TfModule } from './tfjs.ts';
import { torchRatio } from './torch.ts';

type Pass = 'forward' | 'input' | 'weight';

const PASS_NAMES: Record<Pass, string> = { forward: 'forward', input: 'backward-input (dx)', weight: 'backward-filter (dW)' };

interface Spec { N: number; C: number; H: number; W: number; K: number; R: number; stride: number; padding: number }

const MAIN: Spec = { N: 16, C: 64, H: 32, W: 32, K: 64, R: 3, stride: 1, padding: 1 };
const POINTWISE: Spec = { N: 16, C: 128, H: 32, W: 32, K: 64, R: 1, stride: 1, padding: 0 };
const STRIDE2: Spec = { N: 16, C: 64, H: 32, W: 32, K: 64, R: 3, stride: 2, padding: 1 };

export async function benchConv2d(ctx: Context): Promise<Row[]> {
  const rows = [await convRow(ctx, MAIN, 'forward')];
  if (ctx.quick) return rows;
  rows.push(await convRow(ctx, MAIN, 'input'), await convRow(ctx, MAIN, 'weight'));
  rows.push(await convRow(ctx, POINTWISE, 'forward'), await convRow(ctx, STRIDE2, 'forward'));
  return rows;
}

/** Our tensors for one spec, NCHW, and the kernel call of each pass (SIMD or scalar twin). */
function ourConv(s: Spec) {
  const { N, C, H, W, K, R, stride, padding } = s;
  const OH = Math.floor((H + 2 * padding - R) / stride) + 1, OW = Math.floor((W + 2 * padding - R) / stride) + 1;
  const x = Tensor.from(pseudoRandom(N * C * H * W, 1), [N, C, H, W]);
  const w = Tensor.from(pseudoRandom(K * C * R * R, 2).map((v) => v * 0.05), [K, C, R, R]);
  const b = Tensor.from(pseudoRandom(K, 3), [K]);
  const dy = Tensor.from(pseudoRandom(N * K * OH * OW, 4), [N, K, OH, OW]);
  const y = new Tensor([N, K, OH, OW]), dx = Tensor.zeros([N, C, H, W]), dw = Tensor.zeros([K, C, R, R]);
  const work = new Tensor([Math.max(1, wasm().conv2dWorkspaceSize(C, H, W, K, R, R, stride, padding))]);
  const sizes = [N, C, H, W, K, R, R, stride, padding] as const;
  const call = (pass: Pass, scalar: boolean) => {
    const k = wasm();
    if (pass === 'forward') {
      const forward = scalar ? k.conv2dForwardScalar : k.conv2dForward;
      return () => forward(y.ptr, x.ptr, w.ptr, b.ptr, work.ptr, ...sizes);
    }
    if (pass === 'input') {
      const input = scalar ? k.conv2dBackwardInputScalar : k.conv2dBackwardInput;
      return () => input(dx.ptr, dy.ptr, w.ptr, work.ptr, ...sizes);
    }
    const weight = scalar ? k.conv2dBackwardWeightScalar : k.conv2dBackwardWeight;
    return () => weight(dw.ptr, 0, dy.ptr, x.ptr, work.ptr, ...sizes);
  };
  return { OH, OW, x, dy, dw, call, dispose: () => [x, w, b, dy, y, dx, dw, work].forEach((t) => t.dispose()) };
}

/** The same convolution in TF.js (NHWC, filters [R, S, C, K]), from the same numbers as ours. */
function tfConv(tf: TfModule, s: Spec, OH: number, OW: number) {
  const { N, C, H, W, K, R, stride, padding } = s;
  const nhwc = (data: Float32Array, channels: number, h: number, w: number): Tensor4D =>
    tf.tidy(() => tf.tensor4d(data, [N, channels, h, w]).transpose([0, 2, 3, 1]));
  const x = nhwc(pseudoRandom(N * C * H * W, 1), C, H, W);
  const dy = nhwc(pseudoRandom(N * K * OH * OW, 4), K, OH, OW);
  const weights = pseudoRandom(K * C * R * R, 2).map((v) => v * 0.05);
  const f: Tensor4D = tf.tidy(() => tf.tensor4d(weights, [K, C, R, R]).transpose([2, 3, 1, 0]));
  const pad = padding === 1 && stride === 1 && R === 3 ? 'same' : padding;
  // dW as a forward convolution: images = C planes of N channels, filter = dy as [OH, OW, N, K]; out [C, R, S, K].
  const filterGradWorkaround = () =>
    tf.conv2d(x.transpose<Tensor4D>([3, 1, 2, 0]), dy.transpose<Tensor4D>([1, 2, 0, 3]), 1, padding).transpose([1, 2, 0, 3]);
  // dx as a forward convolution with the filter turned 180° and its channel axes swapped (stride 1 only).
  const inputGradWorkaround = () => tf.conv2d(dy, tf.reverse(f, [0, 1]).transpose<Tensor4D>([0, 1, 3, 2]), 1, R - 1 - padding);
  return {
    forward: () => tidyVoid(tf, () => tf.conv2d(x, f, stride, pad)),
    input: () => tidyVoid(tf, () => tf.conv2dTranspose(dy, f, [N, H, W, C], stride, pad)),
    inputWorkaround: () => tidyVoid(tf, inputGradWorkaround),
    weightError: () => thrownBy(tf, () => tf.grad((filter) => tf.conv2d(x, filter as Tensor4D, stride, pad).mul(dy).sum())(f)),
    weightWorkaround: () => tidyVoid(tf, filterGradWorkaround),
    /** The workaround's dW in our layout [K, C, R, S], to check it against ours. */
    weightWorkaroundValues: () => tf.tidy(() => filterGradWorkaround().transpose([3, 2, 0, 1])).dataSync() as Float32Array,
    dispose: () => [x, dy, f].forEach((t) => t.dispose()),
  };
}

async function convRow(ctx: Context, s: Spec, pass: Pass): Promise<Row> {
  const { N, C, H, W, K, R, stride } = s;
  const label = `conv2d ${R}x${R}${stride > 1 ? ` stride ${stride}` : ''} ${PASS_NAMES[pass]}`;
  const shape = `[${N}, ${C}, ${H}, ${W}] -> ${K}`;
  ctx.log(label);
  const ours = ourConv(s);
  const tf = ctx.tf ? tfConv(ctx.tf, s, ours.OH, ours.OW) : null;
  try {
    const flops = 2 * N * K * ours.OH * ours.OW * C * R * R;
    const simd = ours.call(pass, false);
    const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(simd), ctx.peakPerMs);
    const cases: Case[] = [{ name: 'ours', fn: simd }, probe];
    // The scalar twin takes seconds on the big shape: one warm-up call (V8 optimises it for the next), few rounds.
    const scalarRounds = flops > 5e8 ? 2 : 3;
    if (!ctx.quick) cases.push({ name: 'scalar', fn: ours.call(pass, true), warmup: 1, iterations: 1, rounds: scalarRounds });
    const tfNote = tf ? addTfCases(cases, tf, pass) : null;
    const t = await timeCases(cases, ctx.rounds);
    const ms = t.cpu('ours');
    const rate = gflops(flops, ms), peakPct = (100 * rate) / probeRate(t.cpu('probe'));
    const row: Row = {
      op: label, shape: `${shape}${R > 1 ? `, padding ${s.padding}` : ''}`, ms, gflops: rate, peakPct,
      torch: torchRatio(ctx.torch, torchName(s, pass), ms), simd: t.has('scalar') ? t.cpu('scalar') / ms : 'skipped (--quick)',
      tf: t.has('tf') ? t.cpu('tf') / ms : 'not loaded',
    };
    if (tf && pass === 'weight') {
      describeFilterGradient(ctx, row, tfNote, t, ms, ours.dw, tf.weightWorkaroundValues, ours.call('weight', false));
    }
    if (tf && pass === 'input') {
      ctx.notes.push(`conv2d backward-input: TF.js's own Conv2DBackpropInput kernel ${t.cpu('tf').toFixed(0)} ms; the same ` +
        `gradient hand-written as a forward conv (filter turned 180°) ${t.cpu('tfWorkaround').toFixed(1)} ms, which ours ` +
        `beats ${(t.cpu('tfWorkaround') / ms).toFixed(1)}×.`);
    }
    return { ...row, ...target(pass, s, row) };
  } finally {
    ours.dispose();
    tf?.dispose();
  }
}

/** Adds TF.js's cases for this pass; returns the error TF.js throws for the filter gradient, if any. */
function addTfCases(cases: Case[], tf: ReturnType<typeof tfConv>, pass: Pass): string | null {
  if (pass === 'forward') cases.push({ name: 'tf', fn: tf.forward });
  if (pass === 'input') {
    // Its own backward-input kernel takes hundreds of ms: one call per round.
    cases.push({ name: 'tf', fn: tf.input, warmup: 2, iterations: 1 });
    cases.push({ name: 'tfWorkaround', fn: tf.inputWorkaround });
  }
  if (pass !== 'weight') return null;
  cases.push({ name: 'tfWorkaround', fn: tf.weightWorkaround, warmup: 5, iterations: 3 });
  return tf.weightError();
}

function describeFilterGradient(ctx: Context, row: Row, error: string | null, t: Timings, ms: number,
  dw: Tensor, theirs: () => Float32Array, ourPass: () => void): void {
  const workaround = t.cpu('tfWorkaround');
  row.tf = `no kernel; ${(workaround / ms).toFixed(1)}× its workaround`;
  // Check the workaround computes the same dW as ours (ours adds into dw, so start from zero).
  dw.view().fill(0);
  ourPass();
  const a = dw.toFloat32Array(), b = theirs();
  let maxDiff = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  ctx.notes.push(`conv2d backward-filter: TF.js-wasm has no kernel: \`tf.grad\` of conv2d wrt the filter throws ` +
    `"${error ?? '(it did not throw in this version)'}". Its workaround, dW as a forward conv of transposed tensors ` +
    `(x as [C, H, W, N] images, dy as an [OH, OW, N, K] filter), takes ${workaround.toFixed(1)} ms and matches ours ` +
    `to ${(maxDiff / maxAbs).toExponential(1)} of max |dW|.`);
}

/** What the issue asks of each row. */
function target(pass: Pass, s: Spec, row: Row): Pick<Row, 'target' | 'met'> {
  const pct = row.peakPct ?? 0;
  if (s !== MAIN) return { target: '≥ 60% of peak', met: pct >= 60 };
  if (pass === 'weight') return { target: '≥ 70% of peak', met: pct >= 70 };
  const tf = typeof row.tf === 'number' ? row.tf : undefined;
  const min = pass === 'forward' ? 1 : 8;
  const what = pass === 'forward' ? 'TF.js' : 'TF.js own kernel';
  return { target: `≥ ${min}× ${what}`, met: tf === undefined ? undefined : tf >= min };
}

function torchName(s: Spec, pass: Pass): string {
  if (s === POINTWISE) return 'conv1x1';
  if (s === STRIDE2) return 'convStride2';
  return pass === 'forward' ? 'convForward' : pass === 'input' ? 'convBackwardInput' : 'convBackwardWeight';
}
