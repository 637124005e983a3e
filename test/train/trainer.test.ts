import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArrayDataset, DDPMScheduler, encodeTrainingState, init, memoryStats, MLPDenoiser, restoreTrainingState, toyDataset,
  Trainer, TrainingDivergedError, UNet2DModel,
} from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';

await init();

const toy = toyDataset('gaussian8', 512, 3);
const makeTrainer = (seed = 0, extra = {}) => new Trainer({
  model: new MLPDenoiser({ hiddenSize: 32, numBlocks: 2 }, seed),
  scheduler: new DDPMScheduler({ numTrainTimesteps: 100 }),
  dataset: toy, batchSize: 16, learningRate: 1e-3, warmupSteps: 5, seed, ...extra,
});
const snapshot = (t: Trainer) => [t.model.params.values, t.ema, t.adamM, t.adamV].map((x) => Array.from(x.toFloat32Array()));

test('a resumed run continues bit for bit: 3 + 3 steps equal 6 steps', async () => {
  const straight = makeTrainer();
  const losses: number[] = [];
  for await (const r of straight.run({ steps: 6 })) losses.push(r.loss);

  const first = makeTrainer();
  for await (const _ of first.run({ steps: 3 })) { /* train */ }
  const state = encodeTrainingState(first, { scheduler: first.scheduler.config, data: { name: 'gaussian8', sampleShape: [2], classNames: [] } });
  const resumed = makeTrainer(0);
  restoreTrainingState(resumed, state, 'state.safetensors');
  assert.is(resumed.step, 3);
  const resumedLosses: number[] = [];
  for await (const r of resumed.run({ steps: 3 })) resumedLosses.push(r.loss);
  assert.equal(resumedLosses, losses.slice(3));
  assert.equal(snapshot(resumed), snapshot(straight));
});

test('resuming with other options is refused, naming the option', async () => {
  const first = makeTrainer();
  for await (const _ of first.run({ steps: 1 })) { /* train */ }
  const state = encodeTrainingState(first, { scheduler: {}, data: { name: 'gaussian8', sampleShape: [2], classNames: [] } });
  assert.throws(() => restoreTrainingState(makeTrainer(0, { learningRate: 5e-4 }), state, 's'), /s was trained with learningRate = 0.001; resuming with learningRate = 0.0005/);
  const other = new Trainer({ model: new MLPDenoiser({ hiddenSize: 16 }), scheduler: new DDPMScheduler(), dataset: toy });
  assert.throws(() => restoreTrainingState(other, state, 's'), /s was written for another model config/);
});

test('training lowers the loss on the 8-mode toy', async () => {
  const trainer = makeTrainer(1, { batchSize: 64 });
  const losses: number[] = [];
  for await (const r of trainer.run({ steps: 300 })) losses.push(r.loss);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(mean(losses.slice(-50)) < 0.8 * mean(losses.slice(0, 50)), `loss ${mean(losses.slice(0, 50))} -> ${mean(losses.slice(-50))}`);
});

test('a run is a function of its seed; the gradient shards do not change the loss curve\'s shape', async () => {
  const run = async (seed: number, shards: number) => {
    const t = makeTrainer(seed, { gradientShards: shards });
    const out: number[] = [];
    for await (const r of t.run({ steps: 4 })) out.push(r.loss);
    return out;
  };
  assert.equal(await run(2, 4), await run(2, 4));
  assert.not.equal(await run(2, 4), await run(3, 4));
  const [a, b] = [await run(2, 1), await run(2, 4)];
  a.forEach((loss, i) => assert.ok(Math.abs(loss - b[i]) < 1e-4 * loss, `step ${i + 1}: ${loss} vs ${b[i]}`));
});

test('memory stays flat from one step to the next', async () => {
  const trainer = makeTrainer();
  for await (const _ of trainer.run({ steps: 2 })) { /* warm up */ }
  const before = memoryStats();
  for await (const _ of trainer.run({ steps: 10 })) { /* train */ }
  const after = memoryStats();
  assert.is(after.liveBytes, before.liveBytes);
  assert.is(after.heapBytes, before.heapBytes);
});

test('NaN in the data stops training with a clear error and leaves the parameters untouched', async () => {
  const data = seededFloats(64, 1);
  data[5] = NaN;
  const trainer = new Trainer({ model: new MLPDenoiser({ hiddenSize: 8 }), scheduler: new DDPMScheduler(), dataset: new ArrayDataset('bad', data, [2]), batchSize: 32 });
  const before = trainer.model.params.values.toFloat32Array();
  const error = await trainer.trainStep().then(() => null, (e: Error) => e);
  assert.ok(error instanceof TrainingDivergedError && /training diverged at step 1: the loss or a gradient is NaN/.test(error.message), String(error));
  assert.equal(Array.from(trainer.model.params.values.toFloat32Array()), Array.from(before));
  assert.is(trainer.step, 0);
});

test('a class-conditional U-Net trains with label dropout (classifier-free guidance)', async () => {
  const images = new ArrayDataset('tiny', seededFloats(6 * 64, 4), [1, 8, 8], Int32Array.from([0, 1, 2, 0, 1, 2]), ['a', 'b', 'c']);
  const model = new UNet2DModel({ sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift', dropout: 0.1 });
  const trainer = new Trainer({ model, scheduler: new DDPMScheduler({ predictionType: 'v_prediction' }), dataset: images, batchSize: 4, condDropProb: 0.5 });
  const report = await trainer.trainStep();
  assert.ok(Number.isFinite(report.loss) && report.loss > 0);
  assert.ok(trainer.model.params.grads.toFloat32Array().some((g) => g !== 0));
});

test('Trainer rejects bad options and mismatched data, naming them', () => {
  const base = { model: new MLPDenoiser(), scheduler: new DDPMScheduler(), dataset: toy };
  assert.throws(() => new Trainer({ ...base, batchSize: 0 }), /Trainer: batchSize must be an integer >= 1, got 0/);
  assert.throws(() => new Trainer({ ...base, learningRate: -1 }), /learningRate must be in \[0, 1\], got -1/);
  assert.throws(() => new Trainer({ ...base, emaDecay: 1 }), /emaDecay must be in \[0, 1\), got 1/);
  assert.throws(() => new Trainer({ ...base, lr: 1 } as never), /unknown option 'lr'/);
  const images = new ArrayDataset('img', new Float32Array(64), [1, 8, 8]);
  assert.throws(() => new Trainer({ ...base, dataset: images }), /the model takes samples of shape \[2\], the dataset 'img' has \[1, 8, 8\]/);
});

test('the trained weights are bit-identical with 1, 2 and 4 workers', async () => {
  const train = async (workers: number) => {
    const images = new ArrayDataset('tiny', seededFloats(8 * 64, 4), [1, 8, 8], Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), ['a', 'b', 'c']);
    const model = new UNet2DModel({ sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2, numClassEmbeds: 3, dropout: 0.1 }, 1);
    const trainer = new Trainer({ model, scheduler: new DDPMScheduler(), dataset: images, batchSize: 6, workers, gradientShards: 4 });
    const losses: number[] = [];
    for await (const r of trainer.run({ steps: 3 })) losses.push(r.loss);
    const result = { losses, weights: Array.from(trainer.model.params.values.toFloat32Array()), ema: Array.from(trainer.ema.toFloat32Array()) };
    await trainer.dispose();
    return result;
  };
  const one = await train(1);
  assert.equal(await train(2), one);
  assert.equal(await train(4), one);
});

test.run();
