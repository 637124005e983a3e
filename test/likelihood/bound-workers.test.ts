// The bound split across threads (bindings/likelihood/bound-workers.ts, evaluateLikelihood's `workers`): a
// class-conditional U-Net with a learned variance gives every term bit for bit the same on 1, 2 and 3 threads as
// one variationalBound call, progress counts every timestep of every batch, and failures come back as errors with
// nothing left allocated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArrayDataset, BoundWorkers, DDPMScheduler, evaluateLikelihood, init, memoryStats, Tensor, UNet2DModel, variationalBound, type BoundTerms,
} from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';

await init();

const model = new UNet2DModel({
  sampleSize: 8, inChannels: 1, outChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2,
  normNumGroups: 2, numClassEmbeds: 3,
}, 6);
const scheduler = new DDPMScheduler({ numTrainTimesteps: 12, varianceType: 'learned_range', predictionType: 'v_prediction' });
const N = 7;
const images = seededFloats(N * 64, 4).map((v) => Math.round((v + 1) * 127.5) / 127.5 - 1);
const labels = Int32Array.from({ length: N }, (_, n) => n % 3);
const exampleIndices = [3, 9, 0, 14, 5, 6, 2];
const bits = (terms: BoundTerms) => [terms.total, terms.prior, terms.diffusion, terms.decoder, ...terms.perTimestep].map((a) => Array.from(new Uint32Array(a.buffer)));

test('1, 2 and 3 threads: every term of every item the same bits as one variationalBound call', async () => {
  const x0 = Tensor.from(images, [N, 1, 8, 8]);
  const options = { decoder: 'discretized' as const, seed: 5, exampleIndices, classLabels: labels };
  try {
    const expected = bits(variationalBound(model, scheduler, x0, options));
    for (const count of [1, 2, 3]) {
      const workers = await BoundWorkers.start(model, scheduler, count);
      try {
        let timesteps = 0;
        assert.equal(bits(await workers.bound(x0, { ...options, onTimestep: () => timesteps++ })), expected, `${count} threads`);
        assert.is(timesteps, 12, `${count} threads: onTimestep once per timestep`);
      } finally {
        workers.close();
      }
    }
  } finally {
    x0.dispose();
  }
});

test('evaluateLikelihood with workers: the same per-example bounds and intervals, progress for every timestep of every batch', async () => {
  const dataset = new ArrayDataset('images', images, [1, 8, 8], labels, ['a', 'b', 'c']);
  const options = { decoder: 'discretized' as const, seed: 2, batchSize: 4, numSteps: 6 };
  const one = await evaluateLikelihood(model, scheduler, dataset, options);
  let calls = 0;
  const two = await evaluateLikelihood(model, scheduler, dataset, { ...options, workers: 2, onProgress: () => calls++ });
  assert.equal(two, one);
  assert.is(calls, 2 * 6, 'two batches of six steps');
});

test('fewer items than threads: the empty runs are skipped, the same bits', async () => {
  const x0 = Tensor.from(images.slice(0, 2 * 64), [2, 1, 8, 8]);
  const options = { decoder: 'discretized' as const, seed: 1, classLabels: labels.slice(0, 2) };
  const workers = await BoundWorkers.start(model, scheduler, 3);
  try {
    let timesteps = 0;
    assert.equal(bits(await workers.bound(x0, { ...options, onTimestep: () => timesteps++ })), bits(variationalBound(model, scheduler, x0, options)));
    assert.is(timesteps, 12);
  } finally {
    workers.close();
    x0.dispose();
  }
});

test('bad input and failures: one-line errors naming the item in the batch, the workers usable afterwards, no memory kept', async () => {
  const dataset = new ArrayDataset('images', images, [1, 8, 8], labels, ['a', 'b', 'c']);
  const before = memoryStats().liveBytes;
  const message = (promise: Promise<unknown>) => promise.then(() => 'no error', (e: Error) => e.message);
  assert.match(await message(evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', workers: 0 })), /evaluateLikelihood: workers must be an integer >= 1, got 0/);
  assert.match(await message(evaluateLikelihood(model, scheduler, dataset, { decoder: 'discretized', workers: 2, numSteps: 99 })),
    /BoundWorkers.bound: options.numSteps must be an integer in \[1, 12\]/);
  assert.match(await message(BoundWorkers.start(model, {} as DDPMScheduler, 2)), /BoundWorkers: scheduler must be a DDPMScheduler/);
  const workers = await BoundWorkers.start(model, scheduler, 2);
  const x0 = Tensor.from(images, [N, 1, 8, 8]);
  // Item 0 is in the worker's run, item 6 in this thread's.
  const withNaN = (item: number) => Tensor.from(images.map((v, i) => (Math.floor(i / 64) === item ? NaN : v)), [N, 1, 8, 8]);
  const [first, last] = [withNaN(0), withNaN(6)];
  const options = { decoder: 'discretized' as const, classLabels: labels };
  try {
    // The whole batch is checked before any thread starts: the item is named by its place in the batch.
    assert.match(await message(workers.bound(x0, { ...options, exampleIndices: [0, 1, 2, 3, 4, 5, -6] })), /BoundWorkers.bound: options.exampleIndices\[6\] must be an integer/);
    assert.match(await message(workers.bound(x0, { decoder: 'discretized', exampleIndices: [0, 1] })), /BoundWorkers.bound: options.exampleIndices has 2 entries for 7 items/);
    assert.match(await message(workers.bound(x0, { ...options, classLabels: labels.slice(1) })), /BoundWorkers.bound: options.classLabels has 6 entries for 7 items/);
    // A failure in a worker comes back with the bound's own message; one in this thread is thrown as it is.
    assert.match(await message(workers.bound(first, options)), /likelihood worker failed: variationalBound: the term at timestep 11 is NaN for item 0/);
    assert.match(await message(workers.bound(last, options)), /variationalBound: the term at timestep 11 is NaN for item \d/);
    // Each later call gets its own answers.
    const reseeded = { ...options, seed: 3, exampleIndices: [6, 5, 4, 3, 2, 1, 0] };
    assert.equal(bits(await workers.bound(x0, reseeded)), bits(variationalBound(model, scheduler, x0, reseeded)));
  } finally {
    for (const t of [x0, first, last]) t.dispose();
    workers.close();
  }
  assert.match(await message(workers.bound(x0, options)), /BoundWorkers.bound: the workers are closed/);
  assert.is(memoryStats().liveBytes, before, 'every tensor of the failed calls was freed');
});

test.run();
