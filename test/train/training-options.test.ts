// Training options with diffusers' names and arithmetic, against the real diffusers v0.27.2 (test/fixtures/adm.json,
// scripts/fixtures/adm.py: train_text_to_image.py's loss for fixed numbers): Min-SNR-gamma weights (compute_snr and
// the weighting, for eps, v and sample prediction), offset noise, the noisy sample and the target, and the weighted
// loss, with and without zero terminal SNR. Then the trainer's own checks of these options.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addOffsets, ArrayDataset, DDPMScheduler, DiffusionObjective, init, minSnrWeights, Tensor, tidy, Trainer, UNet2DModel, type PredictionType,
} from '../../bindings/index.ts';
import { assertClose, decodeFloat32, seededFloats } from '../helpers.ts';

await init();

const fixture = JSON.parse(readFileSync(new URL('../fixtures/adm.json', import.meta.url), 'utf8'));
const decode = decodeFloat32;

interface TrainingCase {
  name: string; predictionType: PredictionType; snrGamma: number; noiseOffset: number; rescaleBetasZeroSnr: boolean; shape: number[];
  timesteps: number[]; x0: string; noise: string; offsets: string; modelOutput: string; noisy: string; target: string; weights: number[]; loss: number;
}

for (const c of fixture.training as TrainingCase[]) {
  test(`diffusers' training arithmetic: ${c.name}`, () => {
    const scheduler = new DDPMScheduler({ predictionType: c.predictionType, rescaleBetasZeroSnr: c.rescaleBetasZeroSnr });
    const B = c.shape[0], M = c.shape.slice(1).reduce((a, b) => a * b, 1);
    tidy(() => {
      const x0 = Tensor.from(decode(c.x0), c.shape);
      const given = Tensor.from(decode(c.noise), c.shape);
      const noise = c.noiseOffset > 0 ? addOffsets(given, c.noiseOffset, decode(c.offsets)) : given;
      const t = Int32Array.from(c.timesteps);
      const noisy = scheduler.addNoise(x0, noise, t);
      const target = c.predictionType === 'epsilon' ? noise : c.predictionType === 'sample' ? x0 : scheduler.getVelocity(x0, noise, t);
      // diffusers' float32 alphas_cumprod: 1 - ab at t = 0 is 1e-4 with an absolute error of about 6e-8, so
      // sqrt(1 - ab) there is off by about 3e-4 relative, 3e-6 on a unit normal (measured: at most 2.8e-6).
      assertClose(noisy, decode(c.noisy), { atol: 8e-6, rtol: 1e-6 }, 'the noisy sample');
      assertClose(target, decode(c.target), { atol: 8e-6, rtol: 1e-6 }, 'the target');
      const weights = c.snrGamma > 0 ? minSnrWeights(scheduler.alphasCumprod, t, c.snrGamma, c.predictionType) : null;
      // diffusers' float32 alphas_cumprod is good to about 1e-4 relative where 1 - ab is small (t = 0): the SNR there.
      if (weights) assertClose(weights, c.weights, { atol: 1e-9, rtol: 3e-4 }, 'the Min-SNR-gamma weights');
      const objective = new DiffusionObjective({ loss: 'simple', vlbWeight: 0.001, scheduler: scheduler.config, decoder: 'discretized', perItem: false });
      const { loss } = objective.evaluate(Tensor.from(decode(c.modelOutput), c.shape), target, { x: noisy, timesteps: t, mseWeights: weights }, B, M);
      assertClose([loss], [c.loss], { atol: 0, rtol: 2e-5 }, 'the loss');
    });
  });
}

test('Min-SNR-gamma: gamma above every SNR leaves eps weights at 1; the weights follow each prediction type', () => {
  const s = new DDPMScheduler();
  const t = [0, 100, 500, 999];
  const snr = t.map((ti) => s.alphasCumprod[ti] / (1 - s.alphasCumprod[ti]));
  assertClose(minSnrWeights(s.alphasCumprod, t, 1e9, 'epsilon'), [1, 1, 1, 1], { atol: 0, rtol: 1e-12 }, 'eps, huge gamma');
  assertClose(minSnrWeights(s.alphasCumprod, t, 5, 'v_prediction'), snr.map((r) => Math.min(r, 5) / (r + 1)), { atol: 0, rtol: 1e-12 }, 'v');
  assertClose(minSnrWeights(s.alphasCumprod, t, 5, 'sample'), snr.map((r) => Math.min(r, 5)), { atol: 0, rtol: 1e-12 }, 'sample');
});

test('the trainer refuses combinations with no meaning, in one line', () => {
  const unet = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [], numHeads: 1, normNumGroups: 2 };
  const dataset = new ArrayDataset('d', seededFloats(4 * 64, 1), [1, 8, 8]);
  const model = new UNet2DModel(unet, 0), learned = new UNet2DModel({ ...unet, outChannels: 2 }, 0);
  const zeroEps = new DDPMScheduler({ rescaleBetasZeroSnr: true });
  const cases: [() => unknown, RegExp][] = [
    [() => new Trainer({ model, scheduler: zeroEps, dataset, snrGamma: 5 }), /snrGamma 5 with predictionType 'epsilon' and rescaleBetasZeroSnr: .*predict 'v_prediction'/],
    [() => new Trainer({ model, scheduler: new DDPMScheduler(), dataset, loss: 'hybrid' }), /loss 'hybrid' trains the variance: the model must predict it/],
    [() => new Trainer({ model: learned, scheduler: new DDPMScheduler({ varianceType: 'learned_range' }), dataset }), /the model predicts its variance \(output \[2, 8, 8\]\): train it with loss 'hybrid'/],
    [() => new Trainer({ model: learned, scheduler: new DDPMScheduler(), dataset, loss: 'hybrid' }), /varianceType be 'learned_range' or 'learned'/],
    [() => new Trainer({ model, scheduler: new DDPMScheduler(), dataset, noiseOffset: -1 }), /noiseOffset must be a finite number >= 0/],
    [() => new Trainer({ model, scheduler: new DDPMScheduler(), dataset, timestepSampling: 'stratified' as never }), /timestepSampling must be 'uniform' or 'importance', got stratified/],
    [() => new Trainer({ model, scheduler: new DDPMScheduler(), dataset, loss: 'vlb' as never }), /loss must be 'simple' or 'hybrid', got vlb/],
  ];
  for (const [make, message] of cases) assert.throws(make, message);
});

test.run();
