/**
 * Quality on the 8-mode Gaussian ring (the issue's definition): after a short training run on one core, 10,000
 * samples cover all 8 modes, at least 95% lie within 3 std of their nearest mode, and every mode holds within
 * 20% of 1/8 of them. (For exact samples of the ring, 98.9% lie within 3 std: 1 - exp(-9/2).)
 * The recipe is the one `ddpm train --data gaussian8` uses by default (T = 1000, the fixed-large variance); its
 * likelihood bound is within 0.10 nats/dim of the ring's entropy (issue 15's target).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDPMPipeline, DDPMScheduler, estimate, GAUSSIAN8_CENTERS, GAUSSIAN8_STD, init, MLPDenoiser, toyDataset, Trainer, variationalBound,
} from '../../bindings/index.ts';
import { gaussian8Denoiser, ringIntegrals } from '../likelihood/exact-models.ts';

await init();

/** The model the recipe trains (the first test), for the likelihood test. */
let trained: MLPDenoiser | null = null;

export function modeStatistics(points: Float32Array): { counts: number[]; withinThreeStd: number } {
  const centers = GAUSSIAN8_CENTERS.map(([cx, cy]) => [(4 * cx) / Math.SQRT2, (4 * cy) / Math.SQRT2]);
  const counts = new Array(8).fill(0);
  let within = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) {
    let best = Infinity, mode = 0;
    centers.forEach(([cx, cy], k) => {
      const d = Math.hypot(points[2 * i] - cx, points[2 * i + 1] - cy);
      if (d < best) { best = d; mode = k; }
    });
    counts[mode]++;
    if (best <= 3 * GAUSSIAN8_STD) within++;
  }
  return { counts, withinThreeStd: within / n };
}

test('the training data itself passes the checks (the metric is right)', () => {
  const { counts, withinThreeStd } = modeStatistics(toyDataset('gaussian8', 10000, 9).batch(Int32Array.from({ length: 10000 }, (_, i) => i)).x.toFloat32Array());
  assert.ok(withinThreeStd > 0.985 && withinThreeStd < 0.993, `data within 3 std: ${withinThreeStd}`);
  counts.forEach((c) => assert.ok(Math.abs(c - 1250) < 150, `data mode count ${c}`));
});

test('gaussian8: 5,000 steps of the MLP, then 10,000 DDPM samples cover all 8 modes, >= 95% within 3 std, balanced', async () => {
  const steps = 5000;
  const model = new MLPDenoiser({ hiddenSize: 128, numBlocks: 3 }, 0);
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 1000, clipSample: false, varianceType: 'fixed_large' });
  const trainer = new Trainer({
    model, scheduler, dataset: toyDataset('gaussian8', 20000, 0), batchSize: 256, learningRate: 2e-3,
    warmupSteps: 100, decaySteps: steps, emaDecay: 0.995, seed: 0,
  });
  const started = performance.now();
  for await (const _ of trainer.run({ steps })) { /* train */ }
  const trainSeconds = (performance.now() - started) / 1000;
  model.params.values.view().set(trainer.ema.view());
  trained = model;
  const samples = await new DDPMPipeline({ model, scheduler }).generate({ batchSize: 10000, seed: 1 });
  const { counts, withinThreeStd } = modeStatistics(samples.toFloat32Array());
  samples.dispose();
  console.log(`  gaussian8: trained ${steps} steps in ${trainSeconds.toFixed(1)} s; within 3 std ${(100 * withinThreeStd).toFixed(2)}%; modes ${counts.join(' ')}`);
  assert.ok(counts.every((c) => c > 0), `every mode covered: ${counts}`);
  assert.ok(withinThreeStd >= 0.95, `within 3 std: ${withinThreeStd}`);
  counts.forEach((c) => assert.ok(Math.abs(c / 10000 - 1 / 8) <= 0.2 / 8, `mode count ${c} of 10000 (1/8 = 1250 ± 250)`));
});

test('gaussian8: the trained model\'s bound is above the entropy, within 0.05 nats/dim of the exact denoiser\'s, within 0.10 of the entropy', () => {
  // The exact denoiser's bound is the least any model with the same fixed variance reaches (E[x0 | x_t] minimises
  // every term), so with the same noise (paired) the trained model's may not fall below it, nor below the data's
  // entropy (the exact denoiser's own bound against the entropy: test/likelihood/gaussian8.test.ts). With the recipe's variance (fixed-large) the bound is
  // within 0.10 nats/dim of the entropy; with fixed-small it is not (beta~_t is too small for smooth data).
  assert.ok(trained, 'the recipe test trained a model');
  const x0 = toyDataset('gaussian8', 1000, 7).batch(Int32Array.from({ length: 1000 }, (_, i) => i)).x;
  const { entropy } = ringIntegrals();
  for (const varianceType of ['fixed_small', 'fixed_large'] as const) {
    const scheduler = new DDPMScheduler({ numTrainTimesteps: 1000, clipSample: false, varianceType });
    const model = variationalBound(trained!, scheduler, x0, { decoder: 'gaussian', seed: 1 }).total;
    const exact = variationalBound(gaussian8Denoiser(scheduler, 'epsilon'), scheduler, x0, { decoder: 'gaussian', seed: 1 }).total;
    const bound = estimate(model), excess = estimate(model.map((v, i) => v - exact[i]));
    console.log(`  gaussian8 bound (${varianceType}): ${bound.mean.toFixed(4)} ± ${bound.ci95!.toFixed(4)} nats/dim; entropy ${entropy.toFixed(4)}; ` +
      `above the exact denoiser's by ${excess.mean.toFixed(4)} ± ${excess.ci95!.toFixed(4)}`);
    // Not significantly below the entropy (a bound below it is a bug); with fixed-large it is only 0.03 above, within
    // the 95% interval of 1,000 points, so "significantly above" is no longer the test.
    assert.ok(bound.mean + bound.ci95! > entropy, `the bound ${bound.mean} ± ${bound.ci95} is below the entropy ${entropy}`);
    assert.ok(excess.mean > -excess.ci95!, `below the exact denoiser: ${excess.mean} ± ${excess.ci95}`);
    assert.ok(excess.mean < 0.05, `the trained model's bound is ${excess.mean} above the exact denoiser's`);
    if (varianceType === 'fixed_large') assert.ok(bound.mean - entropy < 0.1, `the recipe's bound ${bound.mean} is not within 0.10 of the entropy ${entropy}`);
  }
  x0.dispose();
});

test.run();
