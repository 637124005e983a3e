// Importance-sampled timesteps (train/timestep-sampler.ts, improved-diffusion's LossSecondMomentResampler): the
// warm-up, the probabilities and weights against their definition, the inverse-CDF draw, the history's update, and
// in the Trainer: before the warm-up ends a run is the uniform run bit for bit, after it the timesteps follow the
// history, and a resumed run (history in the training state) continues bit for bit, with any number of workers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDPMScheduler, encodeTrainingState, HISTORY_PER_TERM, init, LossSecondMomentResampler, MLPDenoiser, restoreTrainingState, toyDataset, Trainer,
  UNIFORM_PROB,
} from '../../bindings/index.ts';
import { assertClose } from '../helpers.ts';

await init();

/** A resampler whose timestep t has seen losses t + 1, ..., with `count` of them each. */
function filled(T: number, count = HISTORY_PER_TERM): LossSecondMomentResampler {
  const r = new LossSecondMomentResampler(T);
  for (let k = 0; k < count; k++) r.update(Array.from({ length: T }, (_, t) => t), Array.from({ length: T }, (_, t) => (t + 1) * (1 + k / 10)));
  return r;
}

test('the warm-up: uniform probabilities until every timestep has its 10 losses', () => {
  const T = 5;
  const r = filled(T, HISTORY_PER_TERM - 1);
  r.update([0, 1, 2, 3], [1, 1, 1, 1]);
  assert.is(r.warmedUp, false, 'timestep 4 has 9 losses');
  assertClose(r.probabilities(), new Array(T).fill(1 / T), { atol: 0, rtol: 0 }, 'uniform');
  r.update([4], [1]);
  assert.is(r.warmedUp, true);
});

test('the probabilities: sqrt(E[L²]) normalised, mixed with 0.001 of uniform; the weights are 1 / (T p)', () => {
  const T = 7;
  const r = filled(T);
  const root = Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let k = 0; k < HISTORY_PER_TERM; k++) s += Math.fround((t + 1) * (1 + k / 10)) ** 2;
    return Math.sqrt(s / HISTORY_PER_TERM);
  });
  const total = root.reduce((a, b) => a + b, 0);
  const expected = root.map((w) => (w / total) * (1 - UNIFORM_PROB) + UNIFORM_PROB / T);
  const p = r.probabilities();
  assertClose(p, expected, { atol: 0, rtol: 1e-12 }, 'p');
  assertClose([p.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12, rtol: 0 }, 'sum');
  // The inverse CDF: a u just below a cumulative boundary lands on that timestep, just above it on the next.
  const cumulative = expected.map((_, t) => expected.slice(0, t + 1).reduce((a, b) => a + b, 0));
  const u = [0, cumulative[0] - 1e-9, cumulative[0] + 1e-9, cumulative[3] - 1e-9, cumulative[3] + 1e-9, 0.999999];
  const { timesteps, weights } = r.sample(u);
  assert.equal(Array.from(timesteps), [0, 0, 1, 3, 4, 6]);
  assertClose(weights, Array.from(timesteps, (t) => 1 / (T * expected[t])), { atol: 0, rtol: 1e-12 }, 'weights');
});

test('the history keeps the last 10 losses per timestep, oldest first, rounded to float32', () => {
  const r = new LossSecondMomentResampler(2);
  for (let k = 0; k < 12; k++) r.update([1], [k + 0.1]);
  assert.equal(Array.from(r.history.subarray(HISTORY_PER_TERM)), Array.from({ length: 10 }, (_, k) => Math.fround(k + 2.1)));
  assert.equal(Array.from(r.counts), [0, 10]);
  assert.is(r.check({ history: new Float32Array(20), counts: Float32Array.of(0, 11) }), 'the loss count of timestep 1 is 11 (0 to 10)');
  assert.is(r.check({ history: Float32Array.from({ length: 20 }, (_, i) => (i === 3 ? NaN : 0)), counts: new Float32Array(2) }), 'the loss history holds NaN at timestep 0');
});

const toy = toyDataset('gaussian8', 512, 3);
const makeTrainer = (timestepSampling: 'uniform' | 'importance', workers = 1) => new Trainer({
  model: new MLPDenoiser({ hiddenSize: 16, numBlocks: 1 }, 0), scheduler: new DDPMScheduler({ numTrainTimesteps: 8 }),
  dataset: toy, batchSize: 16, learningRate: 1e-3, warmupSteps: 2, seed: 4, timestepSampling, workers,
});
const losses = async (t: Trainer, steps: number) => {
  const out: number[] = [];
  for await (const r of t.run({ steps })) out.push(r.loss);
  return out;
};

test('in the Trainer: the uniform run until the warm-up ends, then timesteps from the history; resumed bit for bit with any workers', async () => {
  const uniform = makeTrainer('uniform'), importance = makeTrainer('importance');
  const before = await losses(importance, 3);
  assert.equal(before, await losses(uniform, 3), 'during the warm-up (8 timesteps x 10 losses need more than 48 samples): the same losses');
  await losses(importance, 17);
  assert.ok(importance.timestepSampler!.warmedUp, 'warmed up after 20 steps of 16 samples');
  const after = importance.drawBatch(importance.step);
  assert.ok(after.lossWeights && after.lossWeights.some((w) => w !== 1), 'importance weights 1 / (T p_t)');
  for (const t of [after.x, after.target]) t?.dispose();
  // A run stopped at step 12 (after the warm-up) and resumed from its state, the second half with 2 workers.
  const first = makeTrainer('importance');
  const firstLosses = await losses(first, 12);
  const state = encodeTrainingState(first, { scheduler: first.scheduler.config, data: { name: 'gaussian8', sampleShape: [2], classNames: [] } });
  const resumed = makeTrainer('importance', 2);
  restoreTrainingState(resumed, state, 'state');
  const rest = await losses(resumed, 8);
  const straight = makeTrainer('importance');
  assert.equal([...firstLosses, ...rest], await losses(straight, 20), 'resumed = straight');
  assert.equal(Array.from(resumed.timestepSampler!.history), Array.from(straight.timestepSampler!.history), 'the same history');
  assert.equal(Array.from(resumed.model.params.values.toFloat32Array()), Array.from(straight.model.params.values.toFloat32Array()), 'the same weights');
  for (const t of [uniform, importance, first, resumed, straight]) await t.dispose();
});

test('a state of another sampling is refused for an importance-sampled run', async () => {
  const uniform = makeTrainer('uniform');
  await losses(uniform, 1);
  const meta = { scheduler: uniform.scheduler.config, data: { name: 'gaussian8', sampleShape: [2], classNames: [] } };
  assert.throws(() => restoreTrainingState(makeTrainer('importance'), encodeTrainingState(uniform, meta), 's'),
    /s was trained with timestepSampling = uniform; resuming with timestepSampling = importance/);
  await uniform.dispose();
});

test.run();
