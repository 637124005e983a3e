// Sampling threads (pipelines/sampling-workers.ts) with the improved-DDPM / ADM models: a conditioned U-Net's
// images split with the batch, a learned variance sampled with DDPM, labels per attribute with composed guidance,
// and the score-SDE samplers rebuilt in a worker (their corrector included): the pipeline's samples bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDPMScheduler, DiffusionPipeline, encodeAttributes, init, SamplingWorkers, ScoreSdeODEScheduler, ScoreSdePCScheduler, UNet2DModel,
  type GenerateOptions, type PipelineScheduler,
} from '../../bindings/index.ts';
import { randomTensor } from '../helpers.ts';

await init();

const UNET = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };
const schedule = { numTrainTimesteps: 20 };
const bits = async (promise: Promise<{ toFloat32Array(): Float32Array; dispose(): void }>) => {
  const t = await promise;
  const out = Array.from(new Uint32Array(t.toFloat32Array().buffer));
  t.dispose();
  return out;
};

const conditioned = new UNet2DModel({ ...UNET, conditionChannels: 1 }, 2);
const learned = new UNet2DModel({ ...UNET, outChannels: 2 }, 3);
const attributes = new UNet2DModel({ ...UNET, classAttributes: [3, 2] }, 4);
// 'any' is an attribute's size: (0, 1), (2, any), (any, 0), (1, 1), (2, 0).
const attributeLabels = Int32Array.from([[0, 1], [2, 2], [3, 0], [1, 1], [2, 0]], (values) => encodeAttributes(values, [3, 2]));

for (const [label, model, scheduler, options] of [
  ['a conditioned U-Net with DDIM', conditioned, DDPMScheduler.fromConfig(schedule), {}],
  ['a learned-range variance with DDPM', learned, new DDPMScheduler({ ...schedule, varianceType: 'learned_range' }), {}],
  ['labels per attribute with composed guidance', attributes, new DDPMScheduler(schedule), { classLabels: attributeLabels, guidanceScale: [2, 1.5] }],
  ['the score-SDE predictor-corrector (ald)', conditioned, new ScoreSdePCScheduler({ ...schedule, corrector: 'ald' }), {}],
  ['the probability-flow ODE', learned, new ScoreSdeODEScheduler(schedule), {}],
] as [string, UNet2DModel, PipelineScheduler, GenerateOptions][]) {
  test(`${label}: 1, 2 and 3 threads give the pipeline's samples bit for bit`, async () => {
    const pipeline = new DiffusionPipeline({ model, scheduler });
    const condition = model.conditionChannels ? randomTensor([5, 1, 8, 8], 7) : undefined;
    try {
      const request = { numInferenceSteps: 4, ...options, batchSize: 5, seed: 11, ...(condition && { condition }) };
      const expected = await bits(pipeline.generate(request));
      for (const count of [1, 2, 3]) {
        const workers = await SamplingWorkers.start(pipeline, count);
        try {
          assert.equal(await bits(workers.generate(request)), expected, `${count} threads`);
        } finally {
          workers.close();
        }
      }
    } finally {
      condition?.dispose();
    }
  });
}

test('conditioning images with another number of rows than the batch: a one-line error', async () => {
  const workers = await SamplingWorkers.start(new DiffusionPipeline({ model: conditioned, scheduler: new DDPMScheduler(schedule) }), 2);
  const condition = randomTensor([3, 1, 8, 8], 1);
  try {
    const error = await workers.generate({ batchSize: 4, numInferenceSteps: 2, condition }).then(() => null, (e: Error) => e);
    assert.match(error?.message ?? 'no error', /^SamplingWorkers\.generate: condition must have batchSize \(4\) rows, got shape \[3, 1, 8, 8\]$/);
  } finally {
    condition.dispose();
    workers.close();
  }
});

test.run();
