/**
 * The experimental Winograd F(2x2, 3x3) convolution (conv2dWinograd) against conv2dPacked at the digit U-Net's
 * 3x3 stride-1 shapes (models/mnist.safetensors: blockOutChannels [16, 32, 64], layersPerBlock 1), batch 16 and
 * 1, interleaved in one process with the SIMD128 peak probe; and the sum over one forward's 26 such calls.
 * Inputs as the inference path gets them: padded by groupNormSilu (untimed) for the resnets and conv_out, by
 * conv2dPadInput (timed, in both columns) for conv_in and the upsamplers. Run: node --import tsx bench/winograd.ts [rounds]
 */
import { init, ops, Tensor } from '../bindings/index.ts';
import { wasm } from '../bindings/core/instance.ts';
import { probeCase, pseudoRandom, roughPeak, timeCases, type Case } from './measure.ts';

await init();

/** [what, C, K, output side, calls per forward, padded by] */
type Shape = [string, number, number, number, number, 'norm' | 'pad' | 'upsample'];
const SHAPES: Shape[] = [
  ['conv_in 1→16 @28', 1, 16, 28, 1, 'pad'],
  ['resnet 16→16 @28', 16, 16, 28, 4, 'norm'], ['resnet 48→16 @28', 48, 16, 28, 1, 'norm'],
  ['resnet 32→16 @28', 32, 16, 28, 1, 'norm'], ['upsampler 32 @14→28', 32, 32, 28, 1, 'upsample'],
  ['resnet 16→32 @14', 16, 32, 14, 1, 'norm'], ['resnet 32→32 @14', 32, 32, 14, 3, 'norm'],
  ['resnet 96→32 @14', 96, 32, 14, 1, 'norm'], ['resnet 48→32 @14', 48, 32, 14, 1, 'norm'],
  ['upsampler 64 @7→14', 64, 64, 14, 1, 'upsample'],
  ['resnet 32→64 @7', 32, 64, 7, 1, 'norm'], ['resnet 64→64 @7', 64, 64, 7, 7, 'norm'],
  ['resnet 128→64 @7', 128, 64, 7, 1, 'norm'], ['resnet 96→64 @7', 96, 64, 7, 1, 'norm'],
  ['conv_out 16→1 @28', 16, 1, 28, 1, 'norm'],
];

const rounds = Number(process.argv[2] ?? 15);
const owned: Tensor[] = [];
const keep = <T extends Tensor>(t: T): T => { owned.push(t); return t; };
const cases: Case[] = [], rows: { name: string; flops: number; calls: number }[] = [];
const k = wasm();
for (const N of [16, 1]) {
  for (const [what, C, K, side, calls, source] of SHAPES) {
    const H = source === 'upsample' ? side / 2 : side, HP = side + 2;
    const x = keep(Tensor.from(pseudoRandom(N * C * H * H, 1), [N, C, H, H]));
    const w = keep(Tensor.from(pseudoRandom(K * C * 9, 2).map((v) => v * 0.1), [K, C, 3, 3]));
    const b = keep(Tensor.from(pseudoRandom(K, 3), [K]));
    const packed = ops.packConv2dWeights(w), wino = ops.packConv2dWinogradWeights(w);
    keep(packed.packed); keep(wino.packed);
    const xp = keep(new Tensor([N, C, HP, HP])), y = keep(new Tensor([N, K, side, side]));
    const work = keep(new Tensor([k.conv2dWinogradWorkspaceSize(C, K)]));
    const up = source === 'upsample' ? 1 : 0;
    k.conv2dPadInput(xp.ptr, x.ptr, N, C, H, H, 1, up);
    const pad = source === 'norm' ? () => {} : () => k.conv2dPadInput(xp.ptr, x.ptr, N, C, H, H, 1, up);
    const flops = 2 * N * K * side * side * C * 9, iterations = Math.max(2, Math.round(1e7 / flops));
    const name = `${what} b${N}`;
    cases.push({ name: `${name} packed`, iterations, fn: () => {
      pad(); k.conv2dPackedForward(y.ptr, xp.ptr, packed.packed.ptr, b.ptr, 0, 0, N, C, HP, HP, K, 3, 3, 1);
    } });
    cases.push({ name: `${name} winograd`, iterations, fn: () => {
      pad(); k.conv2dWinogradForward(y.ptr, xp.ptr, wino.packed.ptr, b.ptr, 0, 0, work.ptr, N, C, HP, HP, K);
    } });
    rows.push({ name, flops, calls });
  }
}
const { probe, gflops } = probeCase('probe', 1, roughPeak());
cases.push({ ...probe, iterations: 20 });
const t = await timeCases(cases, rounds);
const peak = gflops(t.cpu('probe'));
const pct = (flops: number, ms: number) => `${((100 * flops) / ms / 1e6 / peak).toFixed(0)}%`;
console.log(`medians of ${rounds} interleaved rounds, CPU time; probe ${peak.toFixed(1)} GFLOP/s; % of peak for the direct FLOPs`);
console.log('| convolution | batch | calls/forward | direct MFLOP | conv2dPacked ms | % peak | winograd ms | % peak (direct-equivalent) | packed / winograd |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const sums = new Map<string, { packed: number; wino: number; flops: number }>();
for (const { name, flops, calls } of rows) {
  const a = t.cpu(`${name} packed`), b = t.cpu(`${name} winograd`), batch = name.match(/ b(\d+)$/)![1];
  console.log(`| ${name.replace(/ b\d+$/, '')} | ${batch} | ${calls} | ${(flops / 1e6).toFixed(1)} | ${a.toFixed(3)} | ${pct(flops, a)} | ` +
    `${b.toFixed(3)} | ${pct(flops, b)} | ${(a / b).toFixed(2)}x |`);
  const s = sums.get(batch) ?? { packed: 0, wino: 0, flops: 0 };
  s.packed += calls * a; s.wino += calls * b; s.flops += calls * flops;
  sums.set(batch, s);
}
for (const [batch, s] of sums) {
  console.log(`batch ${batch}: the forward's 26 3x3 stride-1 convolutions: conv2dPacked ${s.packed.toFixed(2)} ms, winograd ` +
    `${s.wino.toFixed(2)} ms (${(s.packed / s.wino).toFixed(2)}x), ${(s.flops / 1e6).toFixed(0)} direct MFLOP`);
}
for (const tensor of owned) tensor.dispose();
