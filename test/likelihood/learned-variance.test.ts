// The bound with a learned variance and on a respaced chain (bindings/likelihood/bound.ts): a model whose variance
// output v is -1 everywhere has the fixed-small bound (learned_range's lower end); v = 0 sits between the two fixed
// bounds; the respaced chain's tables are those of a schedule with the respaced betas; numSteps = T is the full
// bound bit for bit; and the one-line errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DDPMScheduler, init, ops, posteriorTables, Tensor, tidy, variationalBound, type Denoiser } from '../../bindings/index.ts';
import { assertClose, seededFloats } from '../helpers.ts';
import { gaussianDenoiser } from './exact-models.ts';

await init();

/** The exact Gaussian denoiser with a variance channel holding `v` after its prediction. */
function withVariance(model: Denoiser, v: number): Denoiser {
  return {
    ...model, outputShape: [2 * model.sampleShape[0], ...model.sampleShape.slice(1)],
    forward: (x, t, labels, options) => {
      const prediction = model.forward(x, t, labels, options);
      return ops.concatChannels(prediction, ops.fill(new Tensor(prediction.shape), v));
    },
  };
}

const mu = [0.2, -0.5, 0, 0.9, -1, 0.4], s = 0.6;
const images = (N: number) => Tensor.from(seededFloats(N * 6, 3).map((v) => Math.round((v + 1) * 127.5) / 127.5 - 1), [N, 1, 2, 3]);

test('learned_range: v = -1 is the fixed-small bound, v = 0 lies between the fixed ones; a fixed variance ignores the variance channels', () => {
  const fixed = new DDPMScheduler({ numTrainTimesteps: 30, predictionType: 'v_prediction', clipSample: false });
  const large = new DDPMScheduler({ numTrainTimesteps: 30, predictionType: 'v_prediction', clipSample: false, varianceType: 'fixed_large' });
  const range = new DDPMScheduler({ numTrainTimesteps: 30, predictionType: 'v_prediction', clipSample: false, varianceType: 'learned_range' });
  const exact = gaussianDenoiser(fixed, mu, s, 'v_prediction', [1, 2, 3]);
  tidy(() => {
    const x0 = images(4);
    const options = { decoder: 'discretized' as const, seed: 2 };
    const small = variationalBound(exact, fixed, x0, options);
    const low = variationalBound(withVariance(exact, -1), range, x0, options);
    // The learned log-variance is rounded to float32 (the fixed one is too, from float64): terms agree to ~1e-6.
    low.perTimestep.forEach((term, t) => assertClose(term, small.perTimestep[t], { atol: 1e-5, rtol: 1e-5 }, `timestep ${t}`));
    const middle = variationalBound(withVariance(exact, 0), range, x0, options).diffusion;
    const big = variationalBound(exact, large, x0, options).diffusion;
    middle.forEach((m, n) => assert.ok(m > Math.min(small.diffusion[n], big[n]) - 1e-6 && m < Math.max(small.diffusion[n], big[n]) + 1e-6, `item ${n}: ${m} between ${small.diffusion[n]} and ${big[n]}`));
    // A fixed variance on a learned-variance model ignores its variance channels.
    const ignored = variationalBound(withVariance(exact, 0.5), fixed, x0, options);
    assert.equal(Array.from(ignored.total), Array.from(small.total));
  });
});

test('the respaced chain: its tables are those of the schedule with the respaced betas; numSteps = T is the full bound', () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 100 });
  const spaced = new DDPMScheduler({ numTrainTimesteps: 100 });
  spaced.setTimesteps(10);
  const grid = Array.from(spaced.timesteps).reverse();
  const tables = posteriorTables(scheduler, grid);
  const ab = grid.map((t) => scheduler.alphasCumprod[t]);
  const respaced = new DDPMScheduler({ numTrainTimesteps: 10, trainedBetas: ab.map((a, i) => 1 - a / (i > 0 ? ab[i - 1] : 1)) });
  const reference = posteriorTables(respaced);
  for (const key of ['coef1', 'coef2', 'posteriorVariance', 'posteriorLogVarianceClipped', 'logBetas'] as const) {
    assertClose(tables[key], reference[key], { atol: 1e-15, rtol: 1e-12 }, key);
  }
  const exact = gaussianDenoiser(scheduler, mu, s, 'epsilon', [1, 2, 3]);
  tidy(() => {
    const x0 = images(2);
    const full = variationalBound(exact, scheduler, x0, { decoder: 'discretized', seed: 1 });
    assert.equal(Array.from(variationalBound(exact, scheduler, x0, { decoder: 'discretized', seed: 1, numSteps: 100 }).total), Array.from(full.total));
    const ten = variationalBound(exact, scheduler, x0, { decoder: 'discretized', seed: 1, numSteps: 10 });
    assert.is(ten.perTimestep.length, 10, 'one term per step of the chain');
    assert.ok(ten.total.every(Number.isFinite));
  });
});

test('bad input: a learned variance without one, numSteps out of range', () => {
  const range = new DDPMScheduler({ numTrainTimesteps: 30, varianceType: 'learned_range' });
  const exact = gaussianDenoiser(range, mu, s, 'epsilon', [1, 2, 3]);
  tidy(() => {
    const x0 = images(1);
    assert.throws(() => variationalBound(exact, range, x0, { decoder: 'discretized' }),
      /variationalBound: varianceType 'learned_range' takes the variance from the model, but this model predicts none/);
    const fixed = new DDPMScheduler({ numTrainTimesteps: 30 });
    assert.throws(() => variationalBound(exact, fixed, x0, { decoder: 'discretized', numSteps: 31 }), /options.numSteps must be an integer in \[1, 30\] \(numTrainTimesteps\), got 31/);
  });
});

test.run();
