/**
 * The inference kernels at the shipped digit U-Nets' shapes (28x28 images, 16/32/64 channels, 7x7 attention),
 * batch 1 and 16, against what today's layers call, interleaved with a SIMD128 peak probe:
 *   - every distinct 3x3 convolution of the digit U-Net (models/mnist.safetensors), the colored model's conv_in and
 *     conv_out, the downsamplers and three 1x1 convolutions: conv2d (im2col + gemm) against conv2dPacked, whose
 *     input is padded the way the inference path gets it (by groupNormSilu before conv1, conv2 and conv_out, so
 *     not timed there; by the op's own padding copy, timed, for conv_in and the resamplers; not at all for 1x1),
 *     and, for the 3x3 stride-1 ones, the Winograd F(2x2, 3x3) kernel (conv2dWinograd, Lavin & Gray 2015: the
 *     `convolutions: 'winograd'` of the inference mode, the pipelines' default, which rounds differently) on the
 *     same padded input; its % of peak counts the direct convolution's FLOPs (it does 2.25x fewer multiplies), and
 *     a note sums one forward's calls of both kernels (the calls per forward counted from the model's config,
 *     bench/flops.ts),
 *   - GroupNorm + AdaGN + SiLU: groupNorm then silu (and the padding a convolution then needs) against
 *     groupNormSilu writing the padded output,
 *   - the attention core at 7x7: attentionForward against attentionChannels.
 * Convolutions under 1 MFLOP are timed in runs of calls per sample, so that reading the clock is not counted.
 * Skipped with --quick.
 */
import { readFileSync } from 'node:fs';
import { wasm } from '../bindings/core/instance.ts';
import { ops, Tensor } from '../bindings/index.ts';
import { decodeModel, disposeModel } from '../bindings/models/model-file.ts';
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import { runsByWinograd } from '../bindings/nn/conv2d.ts';
import { unetFlops, type ConvCall } from './flops.ts';
import { probeCase, pseudoRandom, timeCases, type Case, type Timings } from './measure.ts';
import { packageFile } from './package-files.ts';
import type { Context } from './report.ts';

/** [what, C, H (input side), K, R, stride, input padded by groupNormSilu] */
type ConvShape = [string, number, number, number, number, number, boolean];

const CONVOLUTIONS: ConvShape[] = [
  ['conv_in 1→16 @28', 1, 28, 16, 3, 1, false], ['conv_in 3→16 @28 (colored)', 3, 28, 16, 3, 1, false],
  ['resnet 16→16 @28', 16, 28, 16, 3, 1, true], ['resnet 32→16 @28', 32, 28, 16, 3, 1, true],
  ['resnet 48→16 @28', 48, 28, 16, 3, 1, true], ['upsampler 32 @14→28', 32, 14, 32, 3, 1, false],
  ['resnet 16→32 @14', 16, 14, 32, 3, 1, true], ['resnet 32→32 @14', 32, 14, 32, 3, 1, true],
  ['resnet 48→32 @14', 48, 14, 32, 3, 1, true], ['resnet 96→32 @14', 96, 14, 32, 3, 1, true],
  ['upsampler 64 @7→14', 64, 7, 64, 3, 1, false],
  ['resnet 32→64 @7', 32, 7, 64, 3, 1, true], ['resnet 64→64 @7', 64, 7, 64, 3, 1, true],
  ['resnet 96→64 @7', 96, 7, 64, 3, 1, true], ['resnet 128→64 @7', 128, 7, 64, 3, 1, true],
  ['downsampler 16 @28→14', 16, 28, 16, 3, 2, false], ['downsampler 32 @14→7', 32, 14, 32, 3, 2, false],
  ['shortcut 1x1 48→16 @28', 48, 28, 16, 1, 1, false], ['shortcut 1x1 128→64 @7', 128, 7, 64, 1, 1, false],
  ['attention q|k|v 1x1 64→192 @7', 64, 7, 192, 1, 1, false],
  ['conv_out 16→1 @28', 16, 28, 1, 3, 1, true], ['conv_out 16→3 @28 (colored)', 16, 28, 3, 3, 1, true],
];
const NORMS = [[16, 28], [48, 28], [96, 14], [128, 7]];
const BATCHES = [1, 16];
/** The model whose forward the calls-per-forward column and the per-forward sums count. */
const DIGIT_MODEL = 'models/mnist.safetensors';

/**
 * A convolution row: its case names' stem, direct FLOPs, calls per digit forward, whether Winograd applies (3x3,
 * stride 1) and whether an inference pass with `convolutions: 'winograd'` runs it so (16 or more channels in and
 * out: bindings/nn/conv2d.ts's `runsByWinograd`, which leaves conv_in and conv_out direct).
 */
interface ConvRow { name: string; flops: number; calls: number | null; winograd: boolean; chosen: boolean; reps: number }

/**
 * Calls per timed sample for a convolution of `flops`: one, or under 1 MFLOP (conv_in and conv_out at batch 1,
 * about 9 µs) a run of about 2 MFLOP of calls: each sample reads the CPU clock (getrusage, about 1 µs here),
 * which would otherwise count as 10% of such a call.
 */
const repsFor = (flops: number) => Math.max(1, Math.floor(2e6 / flops));

export async function benchInferenceKernels(ctx: Context): Promise<string> {
  if (ctx.quick) return '';
  ctx.log('inference kernels at the U-Net\'s shapes');
  const owned: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => { owned.push(t); return t; };
  const cases: Case[] = [], convRows: ConvRow[] = [], normRows: string[] = [];
  try {
    const forward = digitConvolutions();
    for (const N of BATCHES) for (const shape of CONVOLUTIONS) convRows.push(convCases(cases, keep, N, shape, forward));
    for (const N of BATCHES) for (const [C, H] of NORMS) normRows.push(normCases(cases, keep, N, C, H));
    for (const N of BATCHES) normRows.push(attentionCases(cases, keep, N));
    const { probe, gflops } = probeCase('probe', 1, ctx.peakPerMs);
    cases.push({ ...probe, iterations: 20 });
    const t = await timeCases(cases, ctx.rounds);
    const peak = gflops(t.cpu('probe'));
    const pct = (flops: number, ms: number) => `${((100 * flops) / ms / 1e6 / peak).toFixed(0)}%`;
    const conv = [
      `Inference kernels at the digit U-Nets' shapes (ms per call, medians of ${ctx.rounds} interleaved rounds, the ` +
        'convolutions under 1 MFLOP timed in runs of about 2 MFLOP of calls per clock read; % of the ' +
        `probe's ${peak.toFixed(1)} GFLOP/s in the same rounds, counting the direct convolution's FLOPs in every column; ` +
        `speed-ups are the other column's time / this one's; calls: per forward of ${DIGIT_MODEL}):`, '',
      '| convolution | batch | MFLOP | calls | conv2d ms | % of peak | conv2dPacked ms | % of peak | speed-up | ' +
        'conv2dWinograd ms | % of peak (direct FLOPs) | vs packed |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...convRows.map((row) => {
        const { name, flops, calls, winograd } = row;
        const old = perCall(t, row, 'conv2d'), ours = perCall(t, row, 'packed');
        const wino = winograd ? perCall(t, row, 'winograd') : undefined;
        return `| ${name.replace(/ b\d+$/, '')} | ${name.match(/ b(\d+)$/)![1]} | ${(flops / 1e6).toFixed(1)} | ${calls ?? '-'} | ` +
          `${old.toFixed(3)} | ${pct(flops, old)} | ${ours.toFixed(3)} | ${pct(flops, ours)} | ${(old / ours).toFixed(2)}× | ` +
          (wino === undefined ? '- | - | - |' : `${wino.toFixed(3)} | ${pct(flops, wino)} | ${(ours / wino).toFixed(2)}× |`);
      }),
      '', ...forwardSums(convRows, t),
    ];
    const norm = [
      '| op | today ms | today + the padding copy ms | inference op ms |', '| --- | --- | --- | --- |',
      ...normRows.map((name) => `| ${name} | ${t.cpu(`${name} today`).toFixed(3)} | ` +
        `${t.has(`${name} padded`) ? t.cpu(`${name} padded`).toFixed(3) : '-'} | ${t.cpu(`${name} ours`).toFixed(3)} |`),
    ];
    return [...conv, '', ...norm].join('\n');
  } finally {
    for (const tensor of owned) tensor.dispose();
  }
}

/**
 * The convolutions of one forward of the digit model (from its config), the 3x3 stride-1 ones checked to all have
 * a row: the per-forward sums would otherwise leave some out.
 */
function digitConvolutions(): ConvCall[] {
  const model = decodeModel(readFileSync(packageFile(DIGIT_MODEL)), DIGIT_MODEL).model as UNet2DModel;
  const calls = unetFlops(model.config, 1).convolutions;
  disposeModel(model);
  for (const c of calls.filter((call) => call.R === 3 && call.stride === 1)) {
    if (!CONVOLUTIONS.some((shape) => matches(c, shape))) {
      throw new Error(`bench: ${DIGIT_MODEL}'s forward has a 3x3 stride-1 convolution ${c.C}→${c.K} @${c.size} ` +
        'that the inference-kernel table lacks (bench/inference-kernels.ts, CONVOLUTIONS)');
    }
  }
  return calls;
}

function matches(c: ConvCall, [what, C, H, K, R, stride]: ConvShape): boolean {
  const upsampled = what.startsWith('upsampler'), out = Math.floor(((upsampled ? 2 : 1) * H + 2 * ((R - 1) >> 1) - R) / stride) + 1;
  return c.C === C && c.K === K && c.R === R && c.stride === stride && c.size === out && c.upsampled === upsampled;
}

function convCases(cases: Case[], keep: <T extends Tensor>(t: T) => T, N: number, shape: ConvShape, forward: ConvCall[]): ConvRow {
  const [what, C, H, K, R, stride, padded] = shape;
  const upsample = what.startsWith('upsampler'), f = upsample ? 2 : 1, pad = R === 3 ? 1 : 0;
  const HS = f * H, HP = HS + 2 * pad, OH = Math.floor((HP - R) / stride) + 1;
  const x = keep(Tensor.from(pseudoRandom(N * C * H * H, 1), [N, C, H, H]));
  const xs = upsample ? keep(ops.upsampleNearest2x(x)) : x;
  const w = keep(Tensor.from(pseudoRandom(K * C * R * R, 2).map((v) => v * 0.1), [K, C, R, R]));
  const b = keep(Tensor.from(pseudoRandom(K, 3), [K]));
  const packed = ops.packConv2dWeights(w);
  keep(packed.packed);
  const xp = keep(new Tensor([N, C, HP, HP]));
  const y = keep(new Tensor([N, K, OH, OH]));
  const work = keep(new Tensor([Math.max(1, wasm().conv2dWorkspaceSize(C, HS, HS, K, R, R, stride, pad))]));
  const k = wasm(), name = `${what} b${N}`, flops = 2 * N * K * OH * OH * C * R * R;
  const reps = repsFor(flops), iterations = Math.max(2, Math.round(1e7 / flops / reps));
  const repeated = (fn: () => void) => (reps === 1 ? fn : () => { for (let i = 0; i < reps; i++) fn(); });
  const padInput = () => k.conv2dPadInput(xp.ptr, x.ptr, N, C, H, H, pad, upsample ? 1 : 0);
  padInput();
  // The input as each kernel gets it in the inference path: padded already (by groupNormSilu) or padded here.
  const withInput = (conv: () => void) => padded ? conv : () => { padInput(); conv(); };
  const conv = (input: Tensor, side: number) => k.conv2dPackedForward(y.ptr, input.ptr, packed.packed.ptr, b.ptr, 0, 0, N, C, side, side, K, R, R, stride);
  cases.push({ name: `${name} conv2d`, iterations,
    fn: repeated(() => k.conv2dForward(y.ptr, xs.ptr, w.ptr, b.ptr, work.ptr, N, C, HS, HS, K, R, R, stride, pad)) });
  const packedCall = pad === 0 && !upsample ? () => conv(x, H) : withInput(() => conv(xp, HP));
  cases.push({ name: `${name} packed`, iterations, fn: repeated(packedCall) });
  const winograd = R === 3 && stride === 1;
  if (winograd) {
    const u = ops.packConv2dWinogradWeights(w);
    keep(u.packed);
    const uWork = keep(new Tensor([k.conv2dWinogradWorkspaceSize(C, K)]));
    const winogradCall = () => k.conv2dWinogradForward(y.ptr, xp.ptr, u.packed.ptr, b.ptr, 0, 0, uWork.ptr, N, C, HP, HP, K);
    cases.push({ name: `${name} winograd`, iterations, fn: repeated(withInput(winogradCall)) });
  }
  // The attention projections are counted as linears (bench/flops.ts): no calls to show.
  const calls = what.startsWith('attention') ? null : forward.filter((c) => matches(c, shape)).length;
  return { name, flops, calls, winograd, chosen: runsByWinograd(R, stride, C, K), reps };
}

/** ms per call of a row's kernel ('conv2d', 'packed' or 'winograd'). */
function perCall(t: Timings, row: ConvRow, kernel: string): number {
  return t.cpu(`${row.name} ${kernel}`) / row.reps;
}

/**
 * Per batch: one digit forward's 3x3 stride-1 convolutions (each row's time times its calls), all by conv2dPacked,
 * all by conv2dWinograd, and as `convolutions: 'winograd'` runs them.
 */
function forwardSums(rows: ConvRow[], t: Timings): string[] {
  return BATCHES.map((N) => {
    const counted = rows.filter((r) => r.winograd && r.calls! > 0 && r.name.endsWith(` b${N}`));
    const sum = (kernel: (r: ConvRow) => string) => counted.reduce((total, r) => total + r.calls! * perCall(t, r, kernel(r)), 0);
    const packed = sum(() => 'packed'), wino = sum(() => 'winograd'), mode = sum((r) => (r.chosen ? 'winograd' : 'packed'));
    const calls = (rs: ConvRow[]) => rs.reduce((total, r) => total + r.calls!, 0);
    const flops = counted.reduce((total, r) => total + r.calls! * r.flops, 0), chosen = calls(counted.filter((r) => r.chosen));
    return `- Batch ${N}: one forward's ${calls(counted)} 3x3 stride-1 convolutions (${(flops / 1e6).toFixed(0)} direct MFLOP; ` +
      `the calls column times each row): all by conv2dPacked ${packed.toFixed(2)} ms; all by conv2dWinograd ${wino.toFixed(2)} ms ` +
      `(${(packed / wino).toFixed(2)}×); as \`convolutions: 'winograd'\` runs them (Winograd for the ${chosen} with 16 or more ` +
      `channels in and out, conv2dPacked for the others) ${mode.toFixed(2)} ms (${(packed / mode).toFixed(2)}×).`;
  });
}

function normCases(cases: Case[], keep: <T extends Tensor>(t: T) => T, N: number, C: number, H: number): string {
  const x = keep(Tensor.from(pseudoRandom(N * C * H * H, 1), [N, C, H, H]));
  const gamma = keep(Tensor.from(pseudoRandom(C, 2), [C])), beta = keep(Tensor.from(pseudoRandom(C, 3), [C]));
  const scale = keep(Tensor.from(pseudoRandom(N * C, 4), [N, C])), shift = keep(Tensor.from(pseudoRandom(N * C, 5), [N, C]));
  const y = keep(new Tensor([N, C, H, H])), y2 = keep(new Tensor([N, C, H, H])), yp = keep(new Tensor([N, C, H + 2, H + 2]));
  const k = wasm(), name = `groupNorm + AdaGN + SiLU [${N}, ${C}, ${H}, ${H}], 8 groups`;
  const today = () => {
    k.groupNormForward(y.ptr, 0, 0, x.ptr, gamma.ptr, beta.ptr, scale.ptr, shift.ptr, N, C, H * H, 8, 1e-5);
    k.siluForward(y2.ptr, y.ptr, y.size);
  };
  cases.push({ name: `${name} today`, fn: today, iterations: 5 });
  cases.push({ name: `${name} padded`, fn: () => { today(); k.conv2dPadInput(yp.ptr, y2.ptr, N, C, H, H, 1, 0); }, iterations: 5 });
  cases.push({ name: `${name} ours`, iterations: 5,
    fn: () => k.groupNormSiluForward(yp.ptr, x.ptr, gamma.ptr, beta.ptr, scale.ptr, shift.ptr, N, C, H, H, 8, 1e-5, 1) });
  return name;
}

function attentionCases(cases: Case[], keep: <T extends Tensor>(t: T) => T, N: number): string {
  const [heads, D, T] = [4, 16, 49], C = heads * D;
  const qkv = keep(Tensor.from(pseudoRandom(N * 3 * C * T, 1), [N, 3 * C, T]));
  const [q, k, v] = [2, 3, 4].map((seed) => keep(Tensor.from(pseudoRandom(N * C * T, seed), [N, heads, T, D])));
  const o = keep(new Tensor([N, C, T])), probs = keep(new Tensor([N, heads, T, T]));
  const work = keep(new Tensor([wasm().attentionChannelsWorkspaceSize(T)]));
  const name = `attention core [${N}, 4 heads, 49 tokens, 16]`;
  cases.push({ name: `${name} today`, iterations: 5, fn: () => wasm().attentionForward(o.ptr, probs.ptr, q.ptr, k.ptr, v.ptr, N * heads, T, D) });
  cases.push({ name: `${name} ours`, iterations: 5, fn: () => wasm().attentionChannelsForward(o.ptr, qkv.ptr, work.ptr, N, heads, T, D) });
  return name;
}
