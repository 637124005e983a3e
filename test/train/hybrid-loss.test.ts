// The hybrid loss (train/objective.ts): its value against a float64 reference written from the equations
// (test/ref/hybrid-loss.ts), and its gradient with respect to the model's output against finite differences of that
// reference, with the stop-gradient on the mean (the bound's term trains the variance channels only), for each
// prediction type, both learned variances, both decoders, with weights, and timestep 0 (the decoder) in the batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DDPMScheduler, DiffusionObjective, Tensor, init, tidy, type PredictionType } from '../../bindings/index.ts';
import { assertClose, finiteDifference, seededFloats } from '../helpers.ts';
import { hybridLossRef, type HybridCase } from '../ref/hybrid-loss.ts';

await init();

const N = 4, C = 2, P = 5, M = C * P;

/** 8-bit values k / 127.5 - 1 (edges included), so the discretised decoder sees every kind of bin. */
function eightBit(count: number, seed: number): Float32Array {
  return Float32Array.from(seededFloats(count, seed), (u) => Math.round((u * 1.1 + 1) * 127.5) / 127.5 - 1).map((x) => Math.min(1, Math.max(-1, x)));
}

interface Setup {
  prediction: PredictionType; variance: 'learned_range' | 'learned'; decoder: 'discretized' | 'gaussian'; weighted: boolean;
}

function runCase({ prediction, variance, decoder, weighted }: Setup, seed: number): void {
  const T = 20;
  const scheduler = new DDPMScheduler({ numTrainTimesteps: T, betaStart: 0.001, betaEnd: 0.2, predictionType: prediction, varianceType: variance });
  const objective = new DiffusionObjective({
    loss: 'hybrid', vlbWeight: 0.001, scheduler: scheduler.config, decoder, perItem: true,
  });
  const timesteps = [0, 7, 19, 1];
  const x0 = decoder === 'discretized' ? eightBit(N * M, seed) : seededFloats(N * M, seed).map((x) => 2 * x);
  const noise = seededFloats(N * M, seed + 1);
  const xt = Float32Array.from(x0, (x, j) => {
    const ab = scheduler.alphasCumprod[timesteps[Math.floor(j / M)]];
    return Math.sqrt(ab) * x + Math.sqrt(1 - ab) * noise[j];
  });
  const target = seededFloats(N * M, seed + 2);
  const p = seededFloats(N * M, seed + 3).map((x) => 0.3 * x);
  // v near [-1, 1]; 'learned' outputs a log-variance directly, so around the schedule's.
  const v = seededFloats(N * M, seed + 4).map((x) => (variance === 'learned' ? -6 + 2 * x : 1.2 * x));
  const mseWeights = weighted ? Float64Array.of(0.5, 2, 1, 0.25) : undefined;
  const lossWeights = weighted ? Float64Array.of(1.5, 0.5, 1, 3) : undefined;
  const ref: HybridCase = {
    N, C, P, timesteps, x0, xt, target, betas: scheduler.betas, alphasCumprod: scheduler.alphasCumprod, prediction, variance, decoder,
    vlbWeight: 0.001, mseWeights, lossWeights,
  };
  // The model's output [N, 2C, P]: per item, the prediction's C channels then v's.
  const out = new Float32Array(N * 2 * M);
  for (let n = 0; n < N; n++) {
    out.set(p.subarray(n * M, (n + 1) * M), n * 2 * M);
    out.set(v.subarray(n * M, (n + 1) * M), n * 2 * M + M);
  }
  const { loss, perItem, dOut } = tidy(() => {
    const result = objective.evaluate(Tensor.from(out, [N, 2 * C, P]), Tensor.from(target, [N, C, P]), {
      x: Tensor.from(xt, [N, C, P]), x0: Tensor.from(x0, [N, C, P]), timesteps: Int32Array.from(timesteps), mseWeights, lossWeights,
    }, N, M);
    return { loss: result.loss, perItem: result.perItem, dOut: result.dOut.toFloat32Array() };
  });
  const label = `${prediction}, ${variance}, ${decoder}${weighted ? ', weighted' : ''}`;
  assertClose([loss], [hybridLossRef(ref, p, p, v)], { atol: 0, rtol: 2e-5 }, `${label}: the loss`);
  assert.is(perItem!.length, N, `${label}: one loss per item`);
  // d loss / d v: the bound (and nothing else) through the variance channels.
  const dvNumeric = finiteDifference((x) => hybridLossRef(ref, p, p, x), Float64Array.from(v), 1e-5);
  // d loss / d p with the bound's mean frozen: the squared error alone.
  const dpNumeric = finiteDifference((x) => hybridLossRef(ref, x, p, v), Float64Array.from(p), 1e-5);
  const dp = new Float32Array(N * M), dv = new Float32Array(N * M);
  for (let n = 0; n < N; n++) {
    dp.set(dOut.subarray(n * 2 * M, n * 2 * M + M), n * M);
    dv.set(dOut.subarray(n * 2 * M + M, (n + 1) * 2 * M), n * M);
  }
  const scale = Math.max(...Array.from(dvNumeric, Math.abs));
  assertClose(dv, dvNumeric, { atol: 1e-3 * scale, rtol: 1e-3 }, `${label}: d loss / d v`);
  assertClose(dp, dpNumeric, { atol: 1e-7, rtol: 1e-4 }, `${label}: d loss / d prediction (stop-gradient on the bound's mean)`);
  // The bound's term does reach the variance: its gradient is not zero at any item.
  for (let n = 0; n < N; n++) assert.ok(dv.subarray(n * M, (n + 1) * M).some((g) => g !== 0), `${label}: item ${n} trains its variance`);
}

const SETUPS: Setup[] = [
  { prediction: 'v_prediction', variance: 'learned_range', decoder: 'discretized', weighted: false },
  { prediction: 'epsilon', variance: 'learned_range', decoder: 'discretized', weighted: true },
  { prediction: 'sample', variance: 'learned', decoder: 'discretized', weighted: false },
  { prediction: 'v_prediction', variance: 'learned', decoder: 'gaussian', weighted: true },
  { prediction: 'epsilon', variance: 'learned_range', decoder: 'gaussian', weighted: false },
];

SETUPS.forEach((setup, k) => {
  test(`hybrid loss (${setup.prediction}, ${setup.variance}, ${setup.decoder}${setup.weighted ? ', weighted' : ''}): value against the float64 reference, gradients against finite differences`, () => {
    runCase(setup, 900 + 10 * k);
  });
});

test('the weighted simple loss: value and gradient against finite differences of the weighted MSE', () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 20 });
  const objective = new DiffusionObjective({ loss: 'simple', vlbWeight: 0.001, scheduler: scheduler.config, decoder: 'discretized', perItem: true });
  const out = seededFloats(N * M, 70), target = seededFloats(N * M, 71);
  const mseWeights = Float64Array.of(0.5, 2, 1, 0.25), lossWeights = Float64Array.of(1.5, 0.5, 1, 3);
  const lossOf = (x: ArrayLike<number>) => {
    let total = 0;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += (x[n * M + i] - target[n * M + i]) ** 2;
      total += lossWeights[n] * mseWeights[n] * s / M;
    }
    return total / N;
  };
  const { loss, dOut, perItem } = tidy(() => {
    const r = objective.evaluate(Tensor.from(out, [N, C, P]), Tensor.from(target, [N, C, P]), {
      x: Tensor.from(out, [N, C, P]), timesteps: Int32Array.of(1, 2, 3, 4), mseWeights, lossWeights,
    }, N, M);
    return { loss: r.loss, dOut: r.dOut.toFloat32Array(), perItem: r.perItem! };
  });
  assertClose([loss], [lossOf(out)], { atol: 0, rtol: 1e-6 }, 'the loss');
  assertClose(dOut, finiteDifference(lossOf, Float64Array.from(out), 1e-5), { atol: 1e-7, rtol: 1e-4 }, 'the gradient');
  assertClose(perItem, Array.from({ length: N }, (_, n) => lossOf(out.map((x, j) => (Math.floor(j / M) === n ? x : target[j]))) * N / lossWeights[n]),
    { atol: 1e-12, rtol: 1e-6 }, 'each item\'s loss (before the importance weights)');
});

test.run();
