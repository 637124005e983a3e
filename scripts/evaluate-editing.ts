/**
 * How well the shipped digit model edits, judged by the evaluation's digit classifier (evaluation/, trained only
 * on real digits): held-out MNIST digits are cut or spoiled, the model repairs them, and the judge reads the
 * result against the digit's true label.
 *
 * - inpainting (RePaint): the bottom half of each digit is masked out and painted back, unconditionally
 *   (guidance 0: the model's null label) and conditioned on the true label; RePaint settings varied;
 * - img2img: each digit is spoiled (a random 40% of its stroke pixels removed, plus Gaussian noise) and cleaned up
 *   at a few strengths with DPM-Solver++ 2M Karras and DDIM, unconditionally and conditioned on the true label.
 * The baselines are the judge on the intact digits, and on the cut or spoiled inputs themselves.
 *
 *   node --import tsx scripts/evaluate-editing.ts [--model models/mnist.safetensors] [--num 200] [--batch 50] [--only inpaint|img2img] [--quick]
 *
 * Prints Markdown tables with the time each setting took (CPU-bound, one thread; indicative on a shared machine).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DiffusionPipeline, DDIMScheduler, DPMSolverMultistepScheduler, init, loadModel, ops, RePaintPipeline, RePaintScheduler, Tensor, tidy,
  type Denoiser, type GenerateOptions,
} from '../bindings/index.ts';
import { mnistDataset } from '../bindings/node.ts';
import { STREAMS } from '../bindings/random-streams.ts';
import { judgeDigits, loadOrTrainDigitClassifier } from '../evaluation/index.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, num: { type: 'string' }, quick: { type: 'boolean' }, batch: { type: 'string' }, only: { type: 'string' } } });
const ONLY = values.only ?? 'all';
const MODEL = values.model ?? 'models/mnist.safetensors';
const NUM = Number(values.num ?? 200);
const BATCH = Number(values.batch ?? 50);

await init();
const { model, metadata } = loadModel(readFileSync(MODEL));
const { classifier } = await loadOrTrainDigitClassifier('runs/eval-classifier');
const data = mnistDataset({ split: 'test' });
// Every k-th held-out digit: all classes, in a fixed order.
const stride = Math.floor(data.size / NUM);
const { x, labels } = data.batch(Int32Array.from({ length: NUM }, (_, i) => i * stride));
const digits = x.toFloat32Array();
x.dispose();
const plane = 28 * 28;

const accuracy = (images: Float32Array) => {
  return judgeDigits(classifier, images, labels!).accuracy;
};
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Runs `run(options)` over the digits in batches; returns the images and the seconds taken. */
async function inBatches(make: () => DiffusionPipeline, options: (first: number, size: number) => GenerateOptions): Promise<{ images: Float32Array; seconds: number }> {
  const images = new Float32Array(NUM * plane);
  const started = performance.now();
  for (let first = 0; first < NUM; first += BATCH) {
    const size = Math.min(BATCH, NUM - first);
    const out = await make().generate({ batchSize: size, firstSample: first, seed: 0, ...options(first, size) });
    images.set(out.toFloat32Array(), first * plane);
    out.dispose();
  }
  return { images, seconds: (performance.now() - started) / 1000 };
}

const slice = (values: Float32Array, first: number, size: number, shape: number[]) => Tensor.from(values.subarray(first * plane, (first + size) * plane), shape);
/** Labels for the batch: the true ones (conditional) or any (with guidance 0 the null label's output is used). */
const batchLabels = (first: number, size: number, conditional: boolean) => (conditional ? labels!.subarray(first, first + size) : new Int32Array(size));

console.log(`# Editing with ${MODEL}: ${NUM} held-out digits (every ${stride}th of the test split)\n`);
console.log(`The judge reads ${pct(accuracy(digits))} of the intact digits right.\n`);

if (ONLY !== 'img2img') await inpainting();
if (ONLY !== 'inpaint') await img2img();

// Inpainting: keep the top 14 rows, paint the bottom 14.
async function inpainting(): Promise<void> {
  const mask = new Float32Array(NUM * plane).map((_, i) => (Math.floor((i % plane) / 28) < 14 ? 1 : 0));
  const cut = digits.map((v, i) => (mask[i] ? v : -1));
  console.log('## Inpainting the bottom half (RePaint)\n');
  console.log(`Baseline: the judge reads ${pct(accuracy(cut))} of the cut digits (bottom half black) right.\n`);
  console.log('| steps | jump length x count | eta | model evaluations | unconditional | conditional (true label) | seconds (both) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const repaintSettings: [number, number, number, number][] = values.quick
    ? [[20, 5, 3, 0], [20, 5, 3, 1]]
    : [[20, 1, 1, 0], [20, 1, 1, 1], [20, 5, 3, 0], [20, 5, 3, 1], [50, 5, 3, 1], [50, 10, 5, 1], [10, 2, 3, 0], [10, 2, 3, 1]];
  for (const [steps, jumpLength, jumpNSample, eta] of repaintSettings) {
    const scheduler = () => new RePaintScheduler({ ...metadata.scheduler as object, eta });
    const probe = scheduler();
    probe.setTimesteps(steps, jumpLength, jumpNSample);
    const evaluations = Array.from(probe.timesteps).filter((t, k, all) => k === 0 || t < all[k - 1]).length;
    const row: string[] = [];
    let seconds = 0;
    for (const conditional of [false, true]) {
      const { images, seconds: s } = await inBatches(() => new RePaintPipeline({ model: model as Denoiser, scheduler: scheduler() }), (first, size) => ({
        image: slice(digits, first, size, [size, 1, 28, 28]), maskImage: slice(mask, first, size, [size, 1, 28, 28]),
        numInferenceSteps: steps, jumpLength, jumpNSample, classLabels: batchLabels(first, size, conditional), guidanceScale: conditional ? 1 : 0,
      }));
      row.push(pct(accuracy(images)));
      seconds += s;
    }
    const jumps = jumpNSample === 1 ? 'none' : `${jumpLength} x ${jumpNSample}`;
    console.log(`| ${steps} | ${jumps} | ${eta} | ${evaluations} | ${row[0]} | ${row[1]} | ${seconds.toFixed(0)} |`);
}
}

// img2img: spoil each digit (remove a random 40% of its stroke pixels, add noise of std 0.3), then clean it up.
async function img2img(): Promise<void> {
  const spoiled = tidy(() => {
    const keep = ops.randUniform([NUM * plane], { seed: 1, stream: STREAMS.editingEvalErase }).toFloat32Array();
    const noise = ops.randn([NUM * plane], { seed: 1, stream: STREAMS.editingEvalNoise }).toFloat32Array();
    return digits.map((v, i) => Math.max(-1, Math.min(1, (v > -1 && keep[i] > 0.6 ? -1 : v) + 0.3 * noise[i])));
  });
  console.log('\n## Cleaning up spoiled digits (img2img, unconditional)\n');
  console.log(`Baseline: the judge reads ${pct(accuracy(spoiled))} of the spoiled digits (40% of the stroke removed, noise of std 0.3) right.\n`);
  console.log('| sampler | steps | strength | steps run | unconditional | RMS distance | conditional (true label) | RMS distance | seconds (both) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - digits[i]) ** 2, 0) / a.length);
  console.log(`| (the spoiled input) | | | | ${pct(accuracy(spoiled))} | ${rms(spoiled).toFixed(3)} | | | |`);
  const samplers: [string, () => DiffusionPipeline, number][] = [
    ['DPM-Solver++ 2M Karras', () => new DiffusionPipeline({ model: model as Denoiser, scheduler: DPMSolverMultistepScheduler.fromConfig(metadata.scheduler, { useKarrasSigmas: true, thresholding: true, sampleMaxValue: 1 }) }), 10],
    ['DDIM', () => new DiffusionPipeline({ model: model as Denoiser, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) }), 10],
  ];
  for (const [name, make, steps] of samplers) {
    for (const strength of values.quick ? [0.3, 0.6] : [0.2, 0.3, 0.4, 0.5, 0.6, 0.8]) {
      const row: string[] = [];
      let seconds = 0;
      for (const conditional of [false, true]) {
        const { images, seconds: s } = await inBatches(make, (first, size) => ({
          image: slice(spoiled, first, size, [size, 1, 28, 28]), strength, numInferenceSteps: steps,
          classLabels: batchLabels(first, size, conditional), guidanceScale: conditional ? 1 : 0,
        }));
        row.push(pct(accuracy(images)), rms(images).toFixed(3));
        seconds += s;
      }
      console.log(`| ${name} | ${steps} | ${strength} | ${Math.floor(steps * strength)} | ${row.join(' | ')} | ${seconds.toFixed(0)} |`);
    }
}
}
