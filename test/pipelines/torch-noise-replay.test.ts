/**
 * Replaying diffusers runs seeded with CPU generators (test/fixtures/ddim-torch-noise, made by
 * scripts/fixtures/ddim_torch_noise.py with diffusers v0.27.2): the sampling loops written out by hand with this
 * library's UNet2DModel (the folder's weights, by name) and schedulers, every noise drawn from ops.TorchGenerator
 * in diffusers' order; then the same runs through the pipelines with `generator: 'torch'`, which must give the
 * hand-written loop's images bit for bit (and so diffusers' within 1e-4).
 *
 * The draws, as diffusers makes them (utils/torch_utils.py randn_tensor, pipelines/ddim, schedulers):
 * - one generator: randn of the whole batch shape [N, C, H, W] for x_T; a list of generators (one per image):
 *   randn of [1, C, H, W] from each, concatenated;
 * - DDIMScheduler.step with eta > 0 draws the batch shape again at every step, even where sigma_t is 0;
 *   DDPMScheduler.step draws it at every step with t > 0; the same generator(s) as x_T, in the same order;
 * - diffusers' defaults: DDIM uses the model's eps (use_clipped_model_output false), clip_sample true;
 *   images are (x / 2 + 0.5) clamped to [0, 1], [N, H, W, C].
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, init, ops, Tensor, tidy, type UNet2DModel,
} from '../../bindings/index.ts';
import { loadTinyUNet, toImages } from './tiny-unet.ts';

await init();

const folder = new URL('../fixtures/ddim-torch-noise/', import.meta.url);
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, folder), 'utf8'));
const unetConfig = readJson('unet/config.json');
const expected = readJson('expected.json') as { runs: Run[] };
interface Run {
  name: string; pipeline: 'DDIMPipeline' | 'DDPMPipeline'; batchSize: number; generator: string | string[];
  eta: number | null; numInferenceSteps: number;
  initialNoise: { shape: number[]; values: string[] }; images: { shape: number[]; values: string[] };
}

/** A run written out: [initial noise, images NHWC]. */
function replay(model: UNet2DModel, run: Run): [Float32Array, Float32Array] {
  return tidy(() => {
    const seeds = Array.isArray(run.generator) ? run.generator : [run.generator];
    const generators = seeds.map((s) => new ops.TorchGenerator(BigInt(s)));
    const shape = [run.batchSize, unetConfig.in_channels, unetConfig.sample_size, unetConfig.sample_size];
    const draw = (): Tensor => {
      if (generators.length === 1) return generators[0].randn(shape);
      const per = generators.map((g) => g.randn([1, ...shape.slice(1)]).toFloat32Array());
      const all = new Float32Array(per.length * per[0].length);
      per.forEach((p, i) => all.set(p, i * p.length));
      return Tensor.from(all, shape);
    };
    let x = draw();
    const initial = x.toFloat32Array();
    const ddim = run.pipeline === 'DDIMPipeline';
    const scheduler = ddim ? new DDIMScheduler() : new DDPMScheduler();
    scheduler.setTimesteps(run.numInferenceSteps);
    for (const t of scheduler.timesteps) {
      const eps = model.forward(x, new Int32Array(run.batchSize).fill(t));
      const eta = run.eta ?? 0;
      const noise = (ddim ? eta > 0 : t > 0) ? draw() : undefined;
      x = ddim
        ? (scheduler as DDIMScheduler).step(eps, t, x, { eta, useClippedModelOutput: false, noise }).prevSample
        : (scheduler as DDPMScheduler).step(eps, t, x, { noise }).prevSample;
    }
    return [initial, toImages(x.toFloat32Array(), shape)];
  });
}

test('diffusers runs with CPU generators, replayed with ops.TorchGenerator: initial noise bit-exact, images within 1e-4', () => {
  const model = loadTinyUNet();
  for (const run of expected.runs) {
    const [initial, images] = replay(model, run);
    const noise = Float32Array.from(run.initialNoise.values, Number);
    assert.equal(Array.from(new Uint32Array(initial.buffer)), Array.from(new Uint32Array(noise.buffer)), `${run.name}: initial noise`);
    const want = Float32Array.from(run.images.values, Number);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(images[i] - want[i]));
    console.log(`  ${run.name}: initial noise bit-identical; images: largest difference ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `${run.name}: images differ by up to ${worst}`);
  }
});

test("the pipelines with generator 'torch' draw as diffusers does: the hand-written replay's images bit for bit", async () => {
  const model = loadTinyUNet();
  for (const run of expected.runs) {
    const [, reference] = replay(model, run);
    const seeds = Array.isArray(run.generator) ? { seeds: run.generator.map(BigInt) } : { seed: BigInt(run.generator) };
    // The replay's forward is the layers' (mode 'train'): the pipelines round as it does with direct convolutions.
    const common = { batchSize: run.batchSize, numInferenceSteps: run.numInferenceSteps, generator: 'torch' as const, convolutions: 'direct' as const, ...seeds };
    const out = run.pipeline === 'DDIMPipeline'
      ? await new DDIMPipeline({ model, scheduler: new DDIMScheduler() }).generate({ ...common, eta: run.eta ?? 0, useClippedModelOutput: false })
      : await new DDPMPipeline({ model, scheduler: new DDPMScheduler() }).generate(common);
    const images = toImages(out.toFloat32Array(), out.shape as number[]);
    out.dispose();
    assert.equal(Array.from(new Uint32Array(images.buffer)), Array.from(new Uint32Array(reference.buffer)), run.name);
  }
});

test("generator options are checked: bigint seeds and seeds lists only with 'torch', one seed per sample", async () => {
  const model = loadTinyUNet();
  const pipe = new DDIMPipeline({ model, scheduler: new DDIMScheduler() });
  const fails = async (options: object, message: RegExp) => {
    const error = await pipe.generate({ numInferenceSteps: 2, ...options }).then(() => null, (e: Error) => e);
    assert.match(error?.message ?? 'no error', message);
  };
  await fails({ seed: 5n }, /seed must be a non-negative safe integer, got 5/);
  await fails({ seeds: [1] }, /seeds and torchCapability are options of generator 'torch'/);
  await fails({ generator: 'numpy' }, /generator must be 'philox' or 'torch', got numpy/);
  await fails({ generator: 'torch', batchSize: 2, seeds: [1] }, /seeds must be an array of one seed per sample \(batchSize 2\), got 1 seeds/);
});

test.run();
