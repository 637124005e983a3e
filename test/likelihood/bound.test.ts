// The variational bound (bindings/likelihood/): each term against a float64 reference recomputed from the
// documented noise addresses, the exact Gaussian denoiser against the closed forms of its expected terms and of
// the data's entropy, independence from batching, the dataset runner, and the argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArrayDataset, DDPMScheduler, evaluateLikelihood, estimate, init, memoryStats, ops, tidy, Tensor, variationalBound,
  LIKELIHOOD_NOISE_STRIDE, type PredictionType,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose, seededFloats } from '../helpers.ts';
import { discretizedElement, gaussianElement, normalKLElement } from '../ref/likelihood.ts';
import {
  boundTables, expectedGaussianTerms, gaussianBoundGap, gaussianDenoiser, gaussianEntropy,
} from './exact-models.ts';

await init();

/** N samples of N(mu, s²) with seeded normal noise (the generator's, from a stream of no other use). */
function gaussianData(N: number, mu: readonly number[], s: number, seed: number): Tensor {
  return tidy(() => {
    const z = ops.randn([N, mu.length], { seed, stream: 99 }).toFloat32Array();
    return Tensor.from(z.map((v, i) => mu[i % mu.length] + s * v), [N, mu.length]);
  });
}

/** 8-bit images k / 127.5 - 1 of shape [N, 1, 2, 3]. */
function eightBitImages(N: number, seed: number): Tensor {
  return Tensor.from(seededFloats(N * 6, seed).map((v) => Math.round((v + 1) * 127.5) / 127.5 - 1), [N, 1, 2, 3]);
}

test('every term equals a float64 recomputation from the documented noise address (both decoders, both variances, clipping)', () => {
  const cases: { varianceType: 'fixed_small' | 'fixed_large'; decoder: 'gaussian' | 'discretized'; prediction: PredictionType }[] = [
    { varianceType: 'fixed_small', decoder: 'discretized', prediction: 'epsilon' },
    { varianceType: 'fixed_large', decoder: 'discretized', prediction: 'v_prediction' },
    { varianceType: 'fixed_small', decoder: 'gaussian', prediction: 'sample' },
    { varianceType: 'fixed_large', decoder: 'gaussian', prediction: 'epsilon' },
  ];
  for (const { varianceType, decoder, prediction } of cases) {
    const clip = decoder === 'discretized';
    const scheduler = new DDPMScheduler({ numTrainTimesteps: 40, varianceType, predictionType: prediction, clipSample: clip });
    // A Gaussian that overshoots [-1, 1], so the clamp of the x0 estimate matters for the images.
    const mu = [0.2, -0.5, 0, 0.9, -1, 0.4], s = 0.6;
    const model = gaussianDenoiser(scheduler, mu, s, prediction, [1, 2, 3]);
    const x0 = eightBitImages(3, 11);
    const indices = [7, 2, 40];
    const result = variationalBound(model, scheduler, x0, { decoder, seed: 5, exampleIndices: indices });
    const { lvQ, lvP, coef1, coef2 } = boundTables(scheduler, varianceType, decoder);
    const data = x0.toFloat32Array();
    for (const t of [0, 1, 20, 39]) {
      const ab = scheduler.alphasCumprod[t];
      const expected = indices.map((e, n) => {
        const eps = tidy(() => ops.randn([6], { seed: 5, stream: STREAMS.likelihoodNoise, offset: t * LIKELIHOOD_NOISE_STRIDE + e * 6 }).toFloat32Array());
        let sum = 0;
        for (let i = 0; i < 6; i++) {
          const x = data[n * 6 + i], xt = Math.sqrt(ab) * x + Math.sqrt(1 - ab) * eps[i];
          const v = ab * s * s + 1 - ab;
          let x0Hat = mu[i] + Math.sqrt(ab) * s * s / v * (xt - Math.sqrt(ab) * mu[i]);
          if (clip) x0Hat = Math.min(1, Math.max(-1, x0Hat));
          const mean = coef1[t] * x0Hat + coef2[t] * xt;
          if (t > 0) sum += normalKLElement(coef1[t] * x + coef2[t] * xt, lvQ[t], mean, lvP[t]);
          else sum -= decoder === 'discretized' ? discretizedElement(x, mean, 0.5 * lvP[0]) : gaussianElement(x, mean, 0.5 * lvP[0]);
        }
        return sum / 6;
      });
      // float32 roundings of x_t, the model output and the means: relative 1e-4 of the terms, which at t = 0 with
      // tiny variances divide differences of nearly equal numbers.
      assertClose(result.perTimestep[t], expected, { atol: 2e-4, rtol: 2e-3 }, `${varianceType} ${decoder} ${prediction} t = ${t}`);
    }
    // The prior term in closed form, and the parts add up.
    const aT = scheduler.alphasCumprod[39];
    const prior = indices.map((_, n) => {
      let sum = 0;
      for (let i = 0; i < 6; i++) sum += 0.5 * (-1 - Math.log(1 - aT) + (1 - aT) + aT * data[n * 6 + i] ** 2);
      return sum / 6;
    });
    assertClose(result.prior, prior, { atol: 1e-9, rtol: 1e-6 }, 'prior');
    const diffusion = indices.map((_, n) => result.perTimestep.slice(1).reduce((sum, term) => sum + term[n], 0));
    assertClose(result.diffusion, diffusion, { atol: 1e-12, rtol: 1e-12 }, 'diffusion = sum of the terms t >= 1');
    assertClose(result.total, indices.map((_, n) => result.prior[n] + result.diffusion[n] + result.decoder[n]), { atol: 1e-12, rtol: 0 }, 'total');
    assert.is(result.decoder, result.perTimestep[0]);
    x0.dispose();
  }
});

test('the closed forms agree: expected terms of the exact Gaussian denoiser = entropy + the KL of the chains', () => {
  for (const T of [10, 100, 1000]) {
    for (const varianceType of ['fixed_small', 'fixed_large'] as const) {
      for (const s of [1, 0.3]) {
        const scheduler = new DDPMScheduler({ numTrainTimesteps: T, varianceType });
        const mu = [0.5, -1, 0.25, 2];
        const termwise = expectedGaussianTerms(scheduler, mu, s, varianceType).total;
        const chain = gaussianEntropy(s) + gaussianBoundGap(scheduler, mu, s, varianceType);
        assertClose([termwise], [chain], { atol: 1e-9, rtol: 1e-9 }, `T ${T}, ${varianceType}, s ${s}`);
      }
    }
  }
});

test('a model that outputs the true posterior mean of N(mu, I) data reaches the data\'s exact entropy (fixed_large)', () => {
  // For N(mu, I) data the true reverse step q(x_{t-1} | x_t) is N(model mean, beta_t) exactly, and q(x0 | x_1) is
  // N(model mean, beta_0): the bound exceeds the entropy by the prior term's KL(q(x_T) || N(0, I)) = ab_T |mu|² / 2d
  // alone (2e-5 nats per dimension here). The Monte-Carlo estimate must meet it within 4 standard errors.
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 1000, varianceType: 'fixed_large', clipSample: false });
  const mu = [0.5, -1, 0.25, 2];
  const model = gaussianDenoiser(scheduler, mu, 1, 'epsilon');
  const x0 = gaussianData(4000, mu, 1, 1);
  const { total } = variationalBound(model, scheduler, x0, { decoder: 'gaussian', seed: 2 });
  const { mean, ci95 } = estimate(total);
  const exact = gaussianEntropy(1) + scheduler.alphasCumprod[999] * mu.reduce((a, m) => a + m * m, 0) / 8;
  const se = ci95! / 1.96;
  console.log(`  N(mu, I), T = 1000: bound ${mean.toFixed(5)} ± ${ci95!.toFixed(5)} nats/dim, entropy + gap ${exact.toFixed(5)} (entropy ${gaussianEntropy(1).toFixed(5)})`);
  assert.ok(se < 0.012, `the estimate is precise enough to mean something: standard error ${se}`);
  assert.ok(Math.abs(mean - exact) < 4 * se, `bound ${mean} vs entropy + gap ${exact} (standard error ${se})`);
  x0.dispose();
});

test('the exact Gaussian denoiser: every term and the total meet their closed-form expectations (fixed_small, s = 0.5)', () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 200, varianceType: 'fixed_small', clipSample: false, predictionType: 'v_prediction' });
  const mu = [1, -0.5, 0, 0.3], s = 0.5;
  const model = gaussianDenoiser(scheduler, mu, s, 'v_prediction');
  const x0 = gaussianData(3000, mu, s, 3);
  const result = variationalBound(model, scheduler, x0, { decoder: 'gaussian', seed: 4 });
  const expected = expectedGaussianTerms(scheduler, mu, s, 'fixed_small');
  for (const t of [0, 1, 2, 10, 100, 199]) {
    const { mean, ci95 } = estimate(result.perTimestep[t]);
    assert.ok(Math.abs(mean - expected.perTimestep[t]) < 2 * ci95! + 1e-4, `t = ${t}: ${mean} ± ${ci95} vs ${expected.perTimestep[t]}`);
  }
  const { mean, ci95 } = estimate(result.total);
  const gap = gaussianBoundGap(scheduler, mu, s, 'fixed_small');
  console.log(`  N(mu, 0.25 I), T = 200, fixed_small: bound ${mean.toFixed(4)} ± ${ci95!.toFixed(4)}, expected ${expected.total.toFixed(4)} = entropy ${gaussianEntropy(s).toFixed(4)} + gap ${gap.toFixed(4)}`);
  assert.ok(Math.abs(mean - expected.total) < 2 * ci95!, `total ${mean} ± ${ci95} vs ${expected.total}`);
  assert.ok(mean > gaussianEntropy(s), 'above the entropy');
  x0.dispose();
});

test('the three prediction types of the same exact model give the same bound', () => {
  const scheduler = (prediction: PredictionType) => new DDPMScheduler({ numTrainTimesteps: 50, predictionType: prediction, clipSample: false });
  const mu = [0.3, -0.2], x0 = gaussianData(64, mu, 0.7, 5);
  const totals = (['epsilon', 'sample', 'v_prediction'] as const).map((p) =>
    variationalBound(gaussianDenoiser(scheduler(p), mu, 0.7, p), scheduler(p), x0, { decoder: 'gaussian', seed: 1 }).total);
  assertClose(totals[1], totals[0], { atol: 1e-3, rtol: 1e-4 }, 'sample vs epsilon');
  assertClose(totals[2], totals[0], { atol: 1e-3, rtol: 1e-4 }, 'v_prediction vs epsilon');
  x0.dispose();
});

test('an example\'s bound depends on its index and the seed only: the same bits in any batch, batch size or company', async () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 30 });
  const model = gaussianDenoiser(scheduler, [0, 0, 0, 0, 0, 0], 0.5, 'epsilon', [1, 2, 3]);
  const images = eightBitImages(7, 21);
  const dataset = new ArrayDataset('images', images.toFloat32Array(), [1, 2, 3]);
  const all = await evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', seed: 8, batchSize: 7 });
  const split = await evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', seed: 8, batchSize: 3 });
  assert.equal(Array.from(split.perExample.total), Array.from(all.perExample.total));
  const alone = await evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', seed: 8, indices: [5, 2] });
  assert.equal(Array.from(alone.perExample.total), [all.perExample.total[5], all.perExample.total[2]]);
  const reseeded = await evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', seed: 9, indices: [5] });
  assert.not.equal(reseeded.perExample.total[0], all.perExample.total[5]);
  // The summary: means of the parts, and 1.96 standard errors.
  const totals = all.perExample.total;
  const mean = totals.reduce((a, b) => a + b, 0) / 7;
  assertClose([all.total.mean, all.prior.mean + all.diffusion.mean + all.decoder.mean], [mean, mean], { atol: 1e-12, rtol: 0 }, 'means');
  const sd = Math.sqrt(totals.reduce((a, v) => a + (v - mean) ** 2, 0) / 6);
  assertClose([all.total.ci95!], [1.959963984540054 * sd / Math.sqrt(7)], { atol: 1e-12, rtol: 1e-9 }, 'ci95');
  assert.is(estimate([1]).ci95, null);
  images.dispose();
});

test('class-conditional models get the data\'s labels or the null label', async () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 5 });
  const seen: number[][] = [];
  const base = gaussianDenoiser(scheduler, [0, 0], 1, 'epsilon');
  const model = { ...base, numClasses: 3, forward: (x: Tensor, t: Int32Array, labels?: Int32Array | null) => { seen.push(Array.from(labels!)); return base.forward(x, t); } };
  const dataset = new ArrayDataset('points', new Float32Array([0, 1, 1, 0]), [2], Int32Array.from([2, 0]), ['a', 'b', 'c']);
  await evaluateLikelihood(model, scheduler, dataset, { decoder: 'gaussian' });
  assert.equal(seen[0], [2, 0]);
  seen.length = 0;
  await evaluateLikelihood(model, scheduler, dataset, { decoder: 'gaussian', labels: 'null' });
  assert.equal(seen[0], [3, 3]);
});

test('bad input: one-line errors naming the argument, and no memory kept', async () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 5 });
  const model = gaussianDenoiser(scheduler, [0, 0], 1, 'epsilon');
  const x0 = Tensor.from([0, 0, 1, 1], [2, 2]), wrong = Tensor.from([0, 0, 0], [1, 3]);
  const before = memoryStats().liveBytes;
  assert.throws(() => variationalBound(model, scheduler, x0, {} as never), /variationalBound: options.decoder must be one of 'discretized', 'gaussian', got undefined/);
  assert.throws(() => variationalBound(model, {} as never, x0, { decoder: 'gaussian' }), /variationalBound: scheduler must be a DDPMScheduler/);
  assert.throws(() => variationalBound(model, scheduler, wrong, { decoder: 'gaussian' }), /x0 must be \[N, 2\] \(the model's samples\), got \[1, 3\]/);
  assert.throws(() => variationalBound(model, scheduler, x0, { decoder: 'gaussian', exampleIndices: [0, -1] }), /exampleIndices\[1\] must be an integer/);
  assert.throws(() => variationalBound(model, scheduler, x0, { decoder: 'gaussian', seeds: 1 } as never), /unknown option 'seeds'/);
  const broken = { ...model, forward: (x: Tensor) => Tensor.from(new Float32Array(x.size).fill(NaN), x.shape) };
  assert.throws(() => variationalBound(broken, scheduler, x0, { decoder: 'gaussian' }), /variationalBound: the term at timestep 4 is NaN for item 0/);
  // A model that fails half-way through: the tensors of the failed step are freed too.
  let calls = 0;
  const failing = { ...model, forward: (x: Tensor, t: Int32Array) => { if (++calls === 3) throw new Error('model failed'); return model.forward(x, t); } };
  assert.throws(() => variationalBound(failing, scheduler, x0, { decoder: 'gaussian' }), /model failed/);
  const dataset = new ArrayDataset('points', x0.toFloat32Array(), [2]);
  await assert.not.throws(async () => evaluateLikelihood(model, scheduler, dataset, { decoder: 'gaussian' }));
  let message = '';
  await evaluateLikelihood(model, scheduler, dataset, { decoder: 'gaussian', indices: [2] }).catch((e) => { message = e.message; });
  assert.match(message, /evaluateLikelihood: indices\[0\] = 2 is not an example of points \(0 \.\. 1\)/);
  assert.is(memoryStats().liveBytes, before, 'every tensor of the failed calls was freed');
  x0.dispose();
  wrong.dispose();
});

test.run();
