// Sampling the improved-DDPM / ADM models: a learned-variance model with DDPM (its variance), with deterministic
// samplers (the prediction alone) and refused by samplers that add noise of their own; guidance takes the
// variance from the conditional pass; conditioned models take their images (batch-independent); composed
// guidance per attribute; the score-SDE samplers through the pipeline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMScheduler, DDPMScheduler, DiffusionPipeline, EulerAncestralDiscreteScheduler, guidedForward, init, memoryStats,
  ScoreSdeODEScheduler, ScoreSdePCScheduler, Tensor, tidy, UNet2DModel, type UNet2DConfig,
} from '../../bindings/index.ts';
import * as ops from '../../bindings/ops/index.ts';
import { randomTensor } from '../helpers.ts';

await init();

/** uvu has no rejects: the promise must reject with a message matching `message`. */
async function rejects(run: () => Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await run();
  } catch (error) {
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected a rejection matching ${message}`);
}

const BASE: UNet2DConfig = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };
const learned = new UNet2DModel({ ...BASE, outChannels: 2, numClassEmbeds: 3 }, 1);
const schedule = { numTrainTimesteps: 100, predictionType: 'v_prediction' } as const;
const labels = Int32Array.of(0, 2);

async function draw(pipeline: DiffusionPipeline, options: object): Promise<Float32Array> {
  const out = await pipeline.generate({ batchSize: 2, seed: 3, classLabels: labels, ...options });
  try {
    return out.toFloat32Array();
  } finally {
    out.dispose();
  }
}

test('a learned-variance model: DDPM uses its variance; DDIM (eta 0) samples from the prediction alone', async () => {
  const ddpm = await draw(new DiffusionPipeline({ model: learned, scheduler: new DDPMScheduler({ ...schedule, varianceType: 'learned_range' }) }), { numInferenceSteps: 10 });
  assert.is(ddpm.length, 2 * 64, 'samples of the sample shape');
  assert.ok(ddpm.every(Number.isFinite));
  // The same DDPM run with the variance channels forced to -1 (the fixed-small variance) differs: the variance is used;
  // and it is the fixed-small run of the prediction alone.
  const wrap = (outputShape: readonly number[], head: (prediction: Tensor) => Tensor) => ({
    ...learned, kind: learned.kind, config: learned.config, params: learned.params, sampleShape: learned.sampleShape, numClasses: learned.numClasses,
    outputShape,
    forward: (x: Tensor, t: Int32Array, l?: Int32Array | null, o?: object) => head(ops.concatChannelsBackward(learned.forward(x, t, l, o), 1, { db: null }).da),
    backward: learned.backward.bind(learned),
  });
  const fixedLike = wrap(learned.outputShape, (prediction) => ops.concatChannels(prediction, ops.fill(new Tensor(prediction.shape), -1)));
  const meanOnly = wrap(learned.sampleShape, (prediction) => prediction);
  const small = await draw(new DiffusionPipeline({ model: fixedLike, scheduler: new DDPMScheduler({ ...schedule, varianceType: 'learned_range' }) }), { numInferenceSteps: 10 });
  const reference = await draw(new DiffusionPipeline({ model: meanOnly, scheduler: new DDPMScheduler(schedule) }), { numInferenceSteps: 10 });
  assert.ok(small.some((v, i) => v !== ddpm[i]), 'the learned variance changes the samples');
  const diff = Math.max(...Array.from(small, (v, i) => Math.abs(v - reference[i])));
  assert.ok(diff < 1e-5, `v = -1 is the fixed-small variance (within float32 rounding of log beta~): ${diff}`);
  const ddim = await draw(new DiffusionPipeline({ model: learned, scheduler: new DDIMScheduler(schedule) }), { numInferenceSteps: 10 });
  const ode = await draw(new DiffusionPipeline({ model: learned, scheduler: new ScoreSdeODEScheduler(schedule) }), { numInferenceSteps: 10 });
  assert.ok(ddim.every(Number.isFinite) && ode.every(Number.isFinite));
});

test('a learned-variance model with a scheduler that adds noise of its own fixed variance: a one-line error, nothing leaked', async () => {
  const cases: [DiffusionPipeline, object, RegExp][] = [
    [new DiffusionPipeline({ model: learned, scheduler: new DDIMScheduler(schedule) }), { eta: 0.5 }, /a learned-variance model sampled with a scheduler that ignores variance: DDIMScheduler with eta 0.5 adds noise of its own fixed variance/],
    [new DiffusionPipeline({ model: learned, scheduler: new EulerAncestralDiscreteScheduler(schedule) }), {}, /ignores variance: EulerAncestralDiscreteScheduler adds noise/],
    [new DiffusionPipeline({ model: learned, scheduler: new ScoreSdePCScheduler(schedule) }), {}, /ignores variance: ScoreSdePCScheduler adds noise/],
    [new DiffusionPipeline({ model: learned, scheduler: new DDPMScheduler(schedule) }), {}, /ignores variance: DDPMScheduler adds noise .*varianceType 'learned_range'/],
    [new DiffusionPipeline({ model: new UNet2DModel({ ...BASE, numClassEmbeds: 3 }, 0), scheduler: new DDPMScheduler({ ...schedule, varianceType: 'learned_range' }) }), {},
      /DDPMScheduler's varianceType 'learned_range' takes the variance from the model, but this model predicts none/],
  ];
  const before = memoryStats().liveBytes;
  for (const [pipeline, options, message] of cases) {
    await rejects(() => pipeline.generate({ batchSize: 2, numInferenceSteps: 4, classLabels: labels, ...options }), message);
  }
  assert.is(memoryStats().liveBytes, before);
});

test('guidance with a learned variance: the prediction is guided, the variance is the conditional pass\'s', () => {
  tidy(() => {
    const x = randomTensor([2, 1, 8, 8], 5), t = Int32Array.of(10, 60);
    const guided = guidedForward(learned, x, t, labels, 3, { mode: 'inference' }, 1).toFloat32Array();
    const cond = learned.forward(x, t, labels, { mode: 'inference' }).toFloat32Array();
    const uncond = learned.forward(x, t, Int32Array.of(3, 3), { mode: 'inference' }).toFloat32Array();
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 64; i++) {
        const p = n * 128 + i, v = p + 64;
        assert.is(guided[v], cond[v], 'the variance channel is the conditional output\'s');
        assert.ok(Math.abs(guided[p] - (uncond[p] + 3 * (cond[p] - uncond[p]))) < 1e-5, 'the prediction is guided');
      }
    }
  });
});

test('a conditioned model: the condition is required and checked; batches give the same samples as one', async () => {
  const model = new UNet2DModel({ ...BASE, conditionChannels: 1 }, 2);
  const pipeline = new DiffusionPipeline({ model, scheduler: new DDIMScheduler(schedule) });
  const condition = randomTensor([4, 1, 8, 8], 9);
  const all = await pipeline.generate({ batchSize: 4, numInferenceSteps: 5, seed: 1, condition });
  const second = await pipeline.generate({ batchSize: 2, numInferenceSteps: 5, seed: 1, firstSample: 2, condition: condition.subview(128, [2, 1, 8, 8]) });
  assert.equal(Array.from(second.toFloat32Array()), Array.from(all.toFloat32Array().subarray(128)));
  await rejects(() => pipeline.generate({ batchSize: 4, numInferenceSteps: 5 }), /the model is conditioned on an image of 1 channels: give condition \[4, 1, 8, 8\]/);
  await rejects(() => pipeline.generate({ batchSize: 2, numInferenceSteps: 5, condition }), /condition must have the shape of the conditioning images \[batchSize, k, H, W\]: .*\[2, 1, 8, 8\], condition \[4, 1, 8, 8\]/);
  const plain = new DiffusionPipeline({ model: new UNet2DModel(BASE, 0), scheduler: new DDIMScheduler(schedule) });
  await rejects(() => plain.generate({ batchSize: 4, numInferenceSteps: 5, condition }), /a condition was given, but the model takes no conditioning image/);
  for (const t of [condition, all, second]) t.dispose();
});

test('guidance per attribute: a weight per attribute composes; a list for a plain label model is refused', async () => {
  const model = new UNet2DModel({ ...BASE, classAttributes: [2, 2] }, 4);
  const pipeline = new DiffusionPipeline({ model, scheduler: new DDIMScheduler(schedule) });
  const out = await pipeline.generate({ batchSize: 2, numInferenceSteps: 4, classLabels: Int32Array.of(0, 7), guidanceScale: [2, 3] });
  assert.ok(out.toFloat32Array().every(Number.isFinite));
  out.dispose();
  await rejects(() => pipeline.generate({ batchSize: 2, numInferenceSteps: 4, classLabels: Int32Array.of(0, 7), guidanceScale: [2] }), /guidanceScale must list 2 finite weights, one per attribute, got \[2\]/);
  const plain = new DiffusionPipeline({ model: learned, scheduler: new DDIMScheduler(schedule) });
  await rejects(() => plain.generate({ batchSize: 2, numInferenceSteps: 4, classLabels: labels, guidanceScale: [2, 3] }), /guidanceScale as a list \(a weight per attribute\) needs a model with labels per attribute/);
});

test('the score-SDE samplers through the pipeline: one model call per entry of their timesteps', async () => {
  const model = new UNet2DModel(BASE, 7);
  let calls = 0;
  const counting = { ...model, kind: model.kind, config: model.config, params: model.params, sampleShape: model.sampleShape, numClasses: 0,
    forward: (...args: Parameters<UNet2DModel['forward']>) => { calls++; return model.forward(...args); }, backward: model.backward.bind(model) };
  for (const [scheduler, expected] of [[new ScoreSdePCScheduler(schedule), 2 * 6], [new ScoreSdeODEScheduler(schedule), 2 * 6 - 1]] as const) {
    calls = 0;
    const out = await new DiffusionPipeline({ model: counting, scheduler }).generate({ batchSize: 1, numInferenceSteps: 6, seed: 2 });
    assert.is(calls, expected, `${scheduler.constructor.name}: model calls`);
    assert.ok(out.toFloat32Array().every(Number.isFinite));
    out.dispose();
  }
});

test.run();
