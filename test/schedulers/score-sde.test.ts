// The score-SDE samplers (bindings/schedulers/score-sde*.ts) on Gaussian data with the exact-score model: the
// probability-flow ODE against its exact solution sample by sample (Heun: second order), the predictor against an
// exact propagation of its moments, the corrector pulling the samples to the data's moments; their call plans,
// the independence of samples from the batch, memory, and bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, keep, memoryStats, ops, ScoreSdeODEScheduler, ScoreSdePCScheduler, tidy, Tensor, type Denoiser, type PredictionType,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose } from '../helpers.ts';
import { gaussianDenoiser } from '../likelihood/exact-models.ts';

await init();

type Sampler = ScoreSdePCScheduler | ScoreSdeODEScheduler;

/** The sampling loop of diffusers' pipelines: x_T from the initial-noise stream, one step per entry of timesteps. */
function sample(model: Denoiser, scheduler: Sampler, N: number, seed: number): Float32Array {
  let x = keep(ops.randn([N, ...model.sampleShape], { seed, stream: STREAMS.initialNoise }));
  for (const t of scheduler.timesteps) {
    // The step options a pipeline passes: the seed, to the schedulers that take it.
    const options = scheduler.stepOptionNames.includes('seed') ? { seed } : {};
    const next = tidy(() => scheduler.step(model.forward(x, new Int32Array(N).fill(t)), t, x, options as never).prevSample);
    x.dispose();
    x = next;
  }
  const out = x.toFloat32Array();
  x.dispose();
  return out;
}

const initialNoise = (N: number, d: number, seed: number) =>
  tidy(() => ops.randn([N, d], { seed, stream: STREAMS.initialNoise }).toFloat32Array());

/** Pooled over the dimensions: the mean of (sample mean - target mean) and the ratio of the sample variances to `variance`. */
function moments(x: Float32Array, N: number, d: number, targetMean: (k: number) => number, variance: (k: number) => number) {
  let bias = 0, ratio = 0;
  for (let k = 0; k < d; k++) {
    let m = 0, q = 0;
    for (let i = 0; i < N; i++) m += x[i * d + k] / N;
    for (let i = 0; i < N; i++) q += (x[i * d + k] - m) ** 2 / (N - 1);
    bias += (m - targetMean(k)) / d;
    ratio += q / variance(k) / d;
  }
  return { bias, ratio };
}

test('call plans: correctors then the predictor at each timestep; Heun\'s stages share their times, the last call denoises', () => {
  const pc = new ScoreSdePCScheduler({ numTrainTimesteps: 10, correctorSteps: 2 });
  assert.is(pc.timesteps.length, 30, 'all T timesteps by default, 3 calls each');
  pc.setTimesteps(4);
  assert.equal(Array.from(pc.grid), [6, 4, 2, 0], "the grid is the 'leading' spacing of the other schedulers");
  assert.equal(Array.from(pc.timesteps), Array.from(pc.grid).flatMap((t) => [t, t, t]));
  const ode = new ScoreSdeODEScheduler({ numTrainTimesteps: 10 });
  ode.setTimesteps(4);
  const [a, b, c, d] = ode.grid;
  assert.equal(Array.from(ode.timesteps), [a, b, b, c, c, d, d]);
  ode.setTimesteps(1);
  assert.equal(Array.from(ode.timesteps), [ode.grid[0]]);
});

test('probability-flow ODE: each sample meets the exact flow of Gaussian data, with second-order convergence', () => {
  // For N(mu, s²) data the flow is linear: x_t = sqrt(ab_t) mu + sqrt(v_t / v_T) (x_T - sqrt(ab_T) mu), v = ab s² + 1 - ab;
  // the last call's denoising step is applied to the exact x at the last timestep in float64 here.
  const mu = [1, -0.5], s = 0.5, N = 500;
  const z = initialNoise(N, 2, 3);
  const errors: number[] = [];
  for (const steps of [25, 50, 100]) {
    const scheduler = new ScoreSdeODEScheduler({ numTrainTimesteps: 1000, clipSample: false });
    scheduler.setTimesteps(steps);
    const x = sample(gaussianDenoiser(scheduler, mu, s, 'epsilon'), scheduler, N, 3);
    const ab = scheduler.alphasCumprod, first = ab[scheduler.grid[0]], last = ab[scheduler.grid[steps - 1]];
    const v = (a: number) => a * s * s + 1 - a;
    let worst = 0;
    for (let i = 0; i < 2 * N; i++) {
      const m = mu[i % 2];
      const exact = Math.sqrt(last) * m + Math.sqrt(v(last) / v(first)) * (z[i] - Math.sqrt(first) * m);
      const denoised = (2 - Math.sqrt(last)) * exact - (1 - last) * (exact - Math.sqrt(last) * m) / v(last);
      worst = Math.max(worst, Math.abs(x[i] - denoised));
    }
    errors.push(worst);
  }
  console.log(`  PF-ODE (Heun) worst error at 25, 50, 100 steps: ${errors.map((e) => e.toExponential(2)).join(', ')}`);
  assert.ok(errors[2] < 2e-3, `100 steps: ${errors[2]}`);
  assert.ok(errors[0] / errors[1] > 3 && errors[1] / errors[2] > 3, `halving the step divides the error by about 4: ${errors}`);
});

test('probability-flow ODE: the three prediction types of the exact model give the same samples', () => {
  const mu = [0.3, 0.7, -1], s = 0.8;
  const run = (p: PredictionType) => {
    const scheduler = new ScoreSdeODEScheduler({ numTrainTimesteps: 200, predictionType: p, clipSample: false });
    scheduler.setTimesteps(20);
    return sample(gaussianDenoiser(scheduler, mu, s, p), scheduler, 50, 1);
  };
  const eps = run('epsilon');
  assertClose(run('v_prediction'), eps, { atol: 1e-4, rtol: 1e-4 }, 'v_prediction vs epsilon');
  assertClose(run('sample'), eps, { atol: 1e-4, rtol: 1e-4 }, 'sample vs epsilon');
});

/**
 * The mean and variance of a dimension of N(mu, s²) data after the predictor alone: each step maps x to
 * A x + B + sqrt(beta) z with the exact score -(x - sqrt(ab) mu) / v (linear), so from N(0, 1) they propagate exactly:
 * m <- A m + B, var <- A² var + beta (no noise on the last step).
 */
function predictorMoments(scheduler: ScoreSdePCScheduler, mu: number, s: number): { m: number; variance: number } {
  let m = 0, variance = 1;
  const ab = scheduler.alphasCumprod, grid = scheduler.grid;
  grid.forEach((t, k) => {
    const alpha = ab[t] / (k + 1 < grid.length ? ab[grid[k + 1]] : 1), beta = 1 - alpha, v = ab[t] * s * s + 1 - ab[t];
    const A = 2 - Math.sqrt(alpha) - beta / v, B = beta * Math.sqrt(ab[t]) * mu / v;
    m = A * m + B;
    variance = A * A * variance + (k + 1 < grid.length ? beta : 0);
  });
  return { m, variance };
}

test('predictor alone: the samples\' moments meet an exact propagation of the predictor\'s moments', () => {
  const d = 256, N = 400, mu = 1, s = 0.5;
  const scheduler = new ScoreSdePCScheduler({ numTrainTimesteps: 100, correctorSteps: 0, clipSample: false });
  scheduler.setTimesteps(50);
  const x = sample(gaussianDenoiser(scheduler, new Array(d).fill(mu), s, 'epsilon', [d]), scheduler, N, 2);
  const { m, variance } = predictorMoments(scheduler, mu, s);
  const { bias, ratio } = moments(x, N, d, () => m, () => variance);
  // Standard errors of the pooled estimates: sqrt(var / (N d)) for the mean, sqrt(2 / (N d)) for the variance ratio.
  assert.ok(Math.abs(bias) < 4 * Math.sqrt(variance / (N * d)), `mean ${bias} off the exact ${m}`);
  assert.ok(Math.abs(ratio - 1) < 4 * Math.sqrt(2 / (N * d)), `variance ratio ${ratio} to the exact ${variance}`);
  console.log(`  predictor alone: mean ${m.toFixed(4)} (data ${mu}), variance ratio to the data ${(variance / (s * s)).toFixed(4)}`);
  assert.ok(Math.abs(m - mu) > 0.02, `(the predictor alone misses the data's mean ${mu} at T = 100: ${m}, which the corrector test needs)`);
});

test('with the Langevin corrector the samples reach the data\'s moments, which the predictor alone misses at T = 100', () => {
  // At T = 100 the linear schedule ends at ab_T = 0.37, far from pure noise, so starting from N(0, I) the predictor
  // alone lands off the data's mean (previous test); the corrector steps move each marginal toward the model's.
  // Unadjusted Langevin's own bias inflates the variance by about alpha · snr² per step (~3% here).
  const d = 256, N = 400, mu = 1, s = 0.5;
  // The model predicts v here: the score comes from any prediction type.
  const scheduler = new ScoreSdePCScheduler({ numTrainTimesteps: 100, correctorSteps: 1, snr: 0.16, clipSample: false, predictionType: 'v_prediction' });
  scheduler.setTimesteps(50);
  const x = sample(gaussianDenoiser(scheduler, new Array(d).fill(mu), s, 'v_prediction', [d]), scheduler, N, 2);
  const { bias, ratio } = moments(x, N, d, () => mu, () => s * s);
  console.log(`  PC (1 corrector step, snr 0.16), d = ${d}: mean off by ${bias.toFixed(4)}, variance ratio ${ratio.toFixed(4)}`);
  const alone = predictorMoments(scheduler, mu, s);
  assert.ok(Math.abs(bias) < 0.25 * Math.abs(alone.m - mu), `mean off the data's by ${bias}; the predictor alone by ${alone.m - mu}`);
  assert.ok(Math.abs(ratio - 1) < 0.06 && Math.abs(ratio - 1) < Math.abs(alone.variance / (s * s) - 1), `variance ratio ${ratio}; the predictor alone ${alone.variance / (s * s)}`);
});

test("the 'ald' corrector (step size from the noise level) pulls 2-D samples to the data's moments too", () => {
  // In 2-D the signal-to-noise rule's per-sample norms are heavy-tailed (see score-sde-pc.ts); 'ald' takes the
  // noise level instead, so its step is the same for every sample.
  const d = 2, N = 20000, mu = 1, s = 0.5;
  const scheduler = new ScoreSdePCScheduler({ numTrainTimesteps: 100, correctorSteps: 1, corrector: 'ald', clipSample: false });
  scheduler.setTimesteps(50);
  const x = sample(gaussianDenoiser(scheduler, [mu, mu], s, 'epsilon'), scheduler, N, 6);
  const { bias, ratio } = moments(x, N, d, () => mu, () => s * s);
  const alone = predictorMoments(scheduler, mu, s);
  console.log(`  PC ('ald', snr 0.16), d = 2: mean off by ${bias.toFixed(4)} (predictor alone ${(alone.m - mu).toFixed(4)}), variance ratio ${ratio.toFixed(4)}`);
  assert.ok(Math.abs(bias) < 0.5 * Math.abs(alone.m - mu), `mean off the data's by ${bias}; the predictor alone by ${alone.m - mu}`);
  assert.ok(Math.abs(ratio - 1) < 0.06, `variance ratio ${ratio}`);
});

test('a sample depends on its seed and index only: the same bits alone or in a batch of 5', () => {
  const model = (s: Sampler) => gaussianDenoiser(s, [0.5, -0.5, 0, 1], 0.7, 'epsilon');
  for (const make of [
    () => new ScoreSdePCScheduler({ numTrainTimesteps: 30, correctorSteps: 2 }),
    () => new ScoreSdePCScheduler({ numTrainTimesteps: 30, corrector: 'ald' }),
    () => new ScoreSdeODEScheduler({ numTrainTimesteps: 30 }),
  ]) {
    const a = make(), b = make();
    a.setTimesteps(10); b.setTimesteps(10);
    const five = sample(model(a), a, 5, 4), two = sample(model(b), b, 2, 4);
    assert.equal(Array.from(two), Array.from(five.subarray(0, 8)), `${a.constructor.name}`);
  }
});

test('the loops free every tensor they make (the ODE keeps one between its stages and releases it)', () => {
  const scheduler = new ScoreSdeODEScheduler({ numTrainTimesteps: 20 });
  scheduler.setTimesteps(5);
  const model = gaussianDenoiser(scheduler, [0, 0], 1, 'epsilon');
  const before = memoryStats().liveBytes;
  sample(model, scheduler, 3, 1);
  assert.is(memoryStats().liveBytes, before);
  const pc = new ScoreSdePCScheduler({ numTrainTimesteps: 20 });
  pc.setTimesteps(5);
  sample(model, pc, 3, 1);
  assert.is(memoryStats().liveBytes, before);
});

test('bad input: options, and steps called out of order, are refused with one-line errors', () => {
  assert.throws(() => new ScoreSdePCScheduler({ corrector: 'ula' as never }), /ScoreSdePCScheduler: corrector must be one of/);
  assert.throws(() => new ScoreSdePCScheduler({ snr: 0 }), /ScoreSdePCScheduler: snr must be a finite number > 0, got 0/);
  assert.throws(() => new ScoreSdePCScheduler({ correctorSteps: 17 }), /correctorSteps must be an integer in \[0, 16\], got 17/);
  assert.throws(() => new ScoreSdeODEScheduler({ snr: 1 } as never), /ScoreSdeODEScheduler: unknown option 'snr'/);
  const scheduler = new ScoreSdeODEScheduler({ numTrainTimesteps: 10 });
  scheduler.setTimesteps(2);
  const x = Tensor.from([0, 0], [1, 2]);
  const [first, second] = scheduler.timesteps;
  assert.throws(() => scheduler.step(x, second, x), new RegExp(`call 0 of the loop is at timestep ${first}, got ${second}`));
  assert.throws(() => scheduler.step(x, first, x, { eta: 1 } as never), /ScoreSdeODEScheduler.step: unknown option 'eta'/);
  for (const t of scheduler.timesteps) tidy(() => { scheduler.step(x, t, x); });
  assert.throws(() => scheduler.step(x, 0, x), /the sampling loop is finished \(3 calls\); call setTimesteps/);
  const pc = new ScoreSdePCScheduler({ numTrainTimesteps: 10, correctorSteps: 1 });
  assert.throws(() => pc.step(x, 9, x, { noise: Tensor.from([0], [1, 1]) }), /options.noise must have the shape of sample: sample \[1, 2\], options.noise \[1, 1\]/);
  x.dispose();
});

test.run();
