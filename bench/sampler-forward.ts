/**
 * The sampler's forward pass (issue 13): the shipped U-Nets (models/mnist.safetensors, models/colored-mnist
 * .safetensors) at batch 1, 4 and 16, on one core:
 *   - the layers' forward (`model.forward` in 'train' mode: the training kernels, activations kept),
 *   - the inference mode (`model.forward` in 'inference' mode with a cache of packed weights: the fused inference
 *     kernels, nothing kept) with direct convolutions, the layers' bits,
 *   - the inference mode with Winograd's convolutions (`convolutions: 'winograd'`, as the pipelines sample by
 *     default: its 3x3 stride-1 convolutions by F(2x2, 3x3), 2.25x fewer multiplies, other rounding); its GFLOP/s
 *     and % of peak count the direct convolution's FLOPs like the other rows, so they are effective rates,
 *   - onnxruntime-web (wasm, SIMD, one thread) running the real diffusers' export of the same weights
 *     (bench/onnx.ts),
 * interleaved in rounds with a SIMD128 peak probe. Checked in the same run: the inference mode gives the layers'
 * bits, and how far the Winograd mode's and onnxruntime's outputs are from the layers' (and from each other).
 * Flops: bench/flops.ts's count of the convolutions, linears and attention cores. Targets (issue 13): batch 16 at
 * >= 85% of the peak and >= 2x onnxruntime-web, batch 1 at >= 60% of the peak.
 */
import { readFileSync } from 'node:fs';
import { decodeModel } from '../bindings/models/model-file.ts';
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import { InferenceCache } from '../bindings/nn/inference-cache.ts';
import { Tensor, tidy } from '../bindings/tensor.ts';
import { unetFlops } from './flops.ts';
import { probeCase, pseudoRandom, timeCases, type Case, type Timings } from './measure.ts';
import { loadOrt, onnxUNet, type OnnxUNet } from './onnx.ts';
import { packageFile } from './package-files.ts';
import type { Context } from './report.ts';

const MODELS = ['mnist', 'colored-mnist'];
const TIMESTEP = 500;
/** The pass options of the Winograd row. */
const WINOGRAD = (cache: InferenceCache) => ({ mode: 'inference', cache, convolutions: 'winograd' }) as const;

interface Inputs { N: number; x: Tensor; data: Float32Array; timesteps: Int32Array; labels: Int32Array }

/** The section: the forward table; with --quick, batch 4 of the digit model only. */
export async function benchSamplerForward(ctx: Context): Promise<string> {
  const { ort, reason } = await loadOrt();
  if (!ort) ctx.notes.push(`Sampler forward: ${reason}.`);
  ctx.notes.push('Sampler forward: every row\'s GFLOP/s and % of peak count the direct convolution\'s FLOPs ' +
    '(bench/flops.ts); for the Winograd rows they are effective rates (F(2x2, 3x3) does 2.25x fewer multiplies in the ' +
    '3x3 stride-1 convolutions with 16 or more channels in and out), and their target is met by that rate.');
  const lines = [
    '| sampler forward (one core) | batch | ms (median) | GFLOP/s (direct convolution FLOPs) | % of SIMD128 peak | ' +
      'onnxruntime-web ms | their time / ours | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of ctx.quick ? MODELS.slice(0, 1) : MODELS) {
    const model = decodeModel(readFileSync(packageFile(`models/${name}.safetensors`)), name).model as UNet2DModel;
    const cache = new InferenceCache();
    try {
      await warmUp(model, cache, ort ? await onnxUNet(ort, name, 4, model.sampleShape) : null);
      for (const N of ctx.quick ? [4] : [1, 4, 16]) {
        ctx.log(`sampler forward: ${name}, batch ${N}`);
        const inputs = makeInputs(model, N);
        const session = ort ? await onnxUNet(ort, name, N, model.sampleShape) : null;
        try {
          lines.push(...(await forwardRows(ctx, name, model, cache, inputs, session)));
        } finally {
          inputs.x.dispose();
          await session?.release();
        }
      }
    } finally {
      cache.dispose();
      model.params.values.dispose();
      model.params.grads.dispose();
    }
  }
  return lines.join('\n');
}

/**
 * Runs the three engines at batch 4 for a few seconds before anything is timed: V8 compiles hot wasm functions
 * with TurboFan on background threads (onnxruntime's module is large), and the process's CPU clock would charge
 * that work to the first rows (it doubled the first model's batch-1 times, onnxruntime's too).
 */
async function warmUp(model: UNet2DModel, cache: InferenceCache, session: OnnxUNet | null): Promise<void> {
  const inputs = makeInputs(model, 4);
  try {
    const start = performance.now();
    while (performance.now() - start < (session ? 4000 : 1000)) {
      tidy(() => { model.forward(inputs.x, inputs.timesteps, inputs.labels); });
      tidy(() => { model.forward(inputs.x, inputs.timesteps, inputs.labels, { mode: 'inference', cache }); });
      tidy(() => { model.forward(inputs.x, inputs.timesteps, inputs.labels, WINOGRAD(cache)); });
      await session?.run(inputs.data, inputs.timesteps, inputs.labels);
    }
  } finally {
    inputs.x.dispose();
    await session?.release();
  }
}

function makeInputs(model: UNet2DModel, N: number): Inputs {
  const data = pseudoRandom(N * model.sampleShape.reduce((a, b) => a * b, 1), 11);
  return {
    N, data, x: Tensor.from(data, [N, ...model.sampleShape]),
    timesteps: new Int32Array(N).fill(TIMESTEP),
    labels: Int32Array.from({ length: N }, (_, i) => i % model.numClasses),
  };
}

/** The layers' row and the inference modes' rows for one model and batch, with the checks as notes. */
async function forwardRows(ctx: Context, name: string, model: UNet2DModel, cache: InferenceCache, inputs: Inputs,
  session: OnnxUNet | null): Promise<string[]> {
  const { N, x, timesteps, labels } = inputs;
  const layers = () => tidy(() => model.forward(x, timesteps, labels).toFloat32Array());
  const inference = () => tidy(() => model.forward(x, timesteps, labels, { mode: 'inference', cache }).toFloat32Array());
  const reference = layers();
  const differing = countDiffering(reference, inference());
  const winograd = tidy(() => model.forward(x, timesteps, labels, WINOGRAD(cache)).toFloat32Array());
  const flops = unetFlops(model.config, N).forward;
  const estimate = flops / ctx.peakPerMs / 0.6;
  const iterations = Math.max(1, Math.round(30 / estimate));
  // About a second of untimed calls per engine at this batch size: new shapes make other wasm functions hot, and
  // their background compiles would be charged to the first timed calls.
  const warmup = Math.max(3, Math.round(1000 / estimate));
  const { probe, gflops: probeRate } = probeCase('probe', estimate, ctx.peakPerMs);
  const cases: Case[] = [
    { name: 'layers', fn: () => tidy(() => { model.forward(x, timesteps, labels); }), warmup, iterations },
    { name: 'inference', fn: () => tidy(() => { model.forward(x, timesteps, labels, { mode: 'inference', cache }); }), warmup, iterations },
    { name: 'winograd', fn: () => tidy(() => { model.forward(x, timesteps, labels, WINOGRAD(cache)); }), warmup, iterations },
    { ...probe, warmup: 2, iterations },
  ];
  const bits = `the inference mode's output ${differing === 0 ? 'has the layers\' bits' :
    `**differs from the layers' in ${differing} of ${reference.length} elements**`}`;
  const wino = `the Winograd convolutions' output differs from the layers' by ${relativeDifference(winograd, reference).toExponential(1)} ` +
    'of max |out|';
  if (session) {
    const theirs = await session.run(inputs.data, timesteps, labels);
    ctx.notes.push(`Sampler forward, ${name} batch ${N}: ${bits}; ${wino} (from onnxruntime-web's by ` +
      `${relativeDifference(winograd, theirs).toExponential(1)}); onnxruntime-web ${session.version} agrees with ours to ` +
      `${relativeDifference(theirs, reference).toExponential(1)} of max |out| (t = ${TIMESTEP}, labels n mod ${model.numClasses}).`);
    cases.push({ name: 'ort', fn: () => session.run(inputs.data, timesteps, labels), async: true, warmup, iterations });
  } else {
    ctx.notes.push(`Sampler forward, ${name} batch ${N}: ${bits}; ${wino}.`);
  }
  // Twice the kernels' rounds: a forward is long enough that the load of this shared machine comes and goes.
  const t = await timeCases(cases, 2 * ctx.rounds);
  const peak = probeRate(t.cpu('probe'));
  return [row(`${name}: the layers (model.forward, 'train' mode)`, N, t, 'layers', flops, peak),
    row(`${name}: inference mode, direct convolutions (the layers' bits)`, N, t, 'inference', flops, peak),
    row(`${name}: inference mode, Winograd convolutions (sampling's default)`, N, t, 'winograd', flops, peak, true)];
}

/** One row; `effective`: its rate counts more FLOPs than its kernels do (the Winograd row), and its target cell says so. */
function row(label: string, N: number, t: Timings, name: string, flops: number, peak: number, effective = false): string {
  const ms = t.cpu(name), rate = flops / ms / 1e6, pct = (100 * rate) / peak;
  const ort = t.has('ort') ? t.cpu('ort') : undefined;
  const ratio = ort === undefined ? undefined : ort / ms;
  const [target, met] = targetOf(N, pct, ratio);
  return `| ${label} | ${N} | ${ms.toFixed(ms < 10 ? 2 : 1)} | ${rate.toFixed(1)} | ${pct.toFixed(0)}% | ` +
    `${ort === undefined ? 'not run' : ort.toFixed(ort < 10 ? 2 : 1)} | ${ratio === undefined ? '-' : `${ratio.toFixed(2)}×`} | ` +
    `${target}${effective && target !== '-' ? ' (effective rate)' : ''} | ${met === undefined ? '-' : met ? 'yes' : '**no**'} |`;
}

function targetOf(N: number, pct: number, ratio: number | undefined): [string, boolean | undefined] {
  if (N === 16) return ['≥ 85% of peak, ≥ 2× onnxruntime-web', ratio === undefined ? undefined : pct >= 85 && ratio >= 2];
  if (N === 1) return ['≥ 60% of peak', pct >= 60];
  return ['-', undefined];
}

function countDiffering(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) count++;
  return count;
}

/** max |a - b| / max |b|. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
