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
import type { Tensor } from '../bindings/tensor.ts';
import { CONV_MAIN, CONV_POINTWISE, CONV_STRIDE2, convOutput, kernel, type ConvPass as Pass, type ConvSpec as Spec } from './kernels.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case, type Timings } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { thrownBy, tidyVoid, type TfModule } from './tfjs.ts';
import { torchRatio } from './torch.ts';

const MAIN = CONV_MAIN, POINTWISE = CONV_POINTWISE, STRIDE2 = CONV_STRIDE2;

/** The kernel case (kernels.ts) of a spec and pass. */
function caseOf(s: Spec, pass: Pass) {
  if (s === POINTWISE) return kernel('conv1x1');
  if (s === STRIDE2) return kernel('conv3x3s2');
  return kernel(pass === 'forward' ? 'conv3x3' : pass === 'input' ? 'conv3x3.dx' : 'conv3x3.dW');
}

export async function benchConv2d(ctx: Context): Promise<Row[]> {
  const rows = [await convRow(ctx, MAIN, 'forward')];
  if (ctx.quick) return rows;
  rows.push(await convRow(ctx, MAIN, 'input'), await convRow(ctx, MAIN, 'weight'));
  rows.push(await convRow(ctx, POINTWISE, 'forward'), await convRow(ctx, STRIDE2, 'forward'));
  return rows;
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
  const spec = caseOf(s, pass);
  ctx.log(spec.op);
  const ours = spec.prepare();
  const [OH, OW] = convOutput(s);
  const tf = ctx.tf ? tfConv(ctx.tf, s, OH, OW) : null;
  try {
    const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(ours.run), ctx.peakPerMs);
    const cases: Case[] = [{ name: 'ours', fn: ours.run }, probe];
    // The scalar twin takes seconds on the big shape: one warm-up call (V8 optimises it for the next), few rounds.
    const scalarRounds = spec.flops > 5e8 ? 2 : 3;
    if (!ctx.quick) cases.push({ name: 'scalar', fn: ours.scalar, warmup: 1, iterations: 1, rounds: scalarRounds });
    const tfNote = tf ? addTfCases(cases, tf, pass) : null;
    const t = await timeCases(cases, ctx.rounds);
    const ms = t.cpu('ours');
    const rate = gflops(spec.flops, ms), peakPct = (100 * rate) / probeRate(t.cpu('probe'));
    const row: Row = {
      op: spec.op, shape: spec.shape, ms, gflops: rate, peakPct,
      torch: torchRatio(ctx.torch, torchName(s, pass), ms), simd: t.has('scalar') ? t.cpu('scalar') / ms : 'skipped (--quick)',
      tf: t.has('tf') ? t.cpu('tf') / ms : undefined,
    };
    if (tf && pass === 'weight') {
      describeFilterGradient(ctx, row, tfNote, t, ms, ours.tensors.dw, tf.weightWorkaroundValues, ours.run);
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
