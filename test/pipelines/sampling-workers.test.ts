// Sampling split across threads (pipelines/sampling-workers.ts): the same samples with 1, 2 and 3 threads as the
// pipeline's own generate, for a stochastic sampler, a multistep solver with classifier-free guidance, classifier
// guidance, and the Winograd convolutions; and what it cannot do is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, init, NoiseAwareClassifier, SamplingWorkers, UNet2DModel,
  type GenerateOptions, type PipelineScheduler,
} from '../../bindings/index.ts';

await init();

const UNET = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };
const model = new UNet2DModel({ ...UNET, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift' }, 4);
const classifier = new NoiseAwareClassifier({ ...UNET, numClasses: 3 }, 5);
const labels = Int32Array.from({ length: 7 }, (_, i) => i % 3);
const bits = async (promise: Promise<{ toFloat32Array(): Float32Array; dispose(): void }>) => {
  const t = await promise;
  const out = Array.from(new Uint32Array(t.toFloat32Array().buffer));
  t.dispose();
  return out;
};

for (const [label, scheduler, options, withClassifier] of [
  ['DDIM with eta 0.7', new DDIMScheduler({ predictionType: 'v_prediction' }), { numInferenceSteps: 6, eta: 0.7 }, false],
  ['DPM-Solver++ 2M Karras with guidance 2.5', new DPMSolverMultistepScheduler({ useKarrasSigmas: true }), { numInferenceSteps: 5, guidanceScale: 2.5 }, false],
  ['DDIM with classifier guidance', new DDIMScheduler(), { numInferenceSteps: 4, classifierScale: 2 }, true],
] as [string, PipelineScheduler, GenerateOptions, boolean][]) {
  test(`${label}: 1, 2 and 3 threads give the pipeline's samples bit for bit`, async () => {
    const pipeline = new DiffusionPipeline({ model, scheduler });
    const request = { ...options, batchSize: 7, seed: 9, classLabels: labels, ...(withClassifier && { classifier }) };
    const expected = await bits(pipeline.generate(request));
    for (const count of [1, 2, 3]) {
      const workers = await SamplingWorkers.start(pipeline, count, withClassifier ? classifier : null);
      try {
        assert.equal(await bits(workers.generate(request)), expected, `${count} threads`);
      } finally {
        workers.close();
      }
    }
  });
}

test("convolutions 'winograd': 1 and 2 threads give the pipeline's samples bit for bit, other than the direct path's", async () => {
  const wide = new UNet2DModel({ ...UNET, blockOutChannels: [16, 32], normNumGroups: 8, numClassEmbeds: 3 }, 6);
  const pipeline = new DiffusionPipeline({ model: wide, scheduler: new DDIMScheduler() });
  const request: GenerateOptions = { batchSize: 5, numInferenceSteps: 3, seed: 2, classLabels: [0, 1, 2, 0, 1], guidanceScale: 2, convolutions: 'winograd' };
  const expected = await bits(pipeline.generate(request));
  assert.not.equal(await bits(pipeline.generate({ ...request, convolutions: 'direct' })), expected, 'the Winograd pass ran');
  for (const count of [1, 2]) {
    const workers = await SamplingWorkers.start(pipeline, count);
    try {
      assert.equal(await bits(workers.generate(request)), expected, `${count} threads`);
    } finally {
      workers.close();
    }
  }
  const error = await pipeline.generate({ convolutions: 'fast' as 'direct' }).then(() => null, (e: Error) => e);
  assert.is(error?.message, "DiffusionPipeline.generate: convolutions must be 'direct' or 'winograd', got fast");
  wide.params.values.dispose();
  wide.params.grads.dispose();
});

test('latents, onStep and the torch generator need one thread', async () => {
  const workers = await SamplingWorkers.start(new DiffusionPipeline({ model, scheduler: new DDIMScheduler() }), 2);
  try {
    for (const options of [{ onStep: () => {} }, { generator: 'torch' as const }]) {
      const error = await workers.generate({ batchSize: 2, classLabels: [0, 1], ...options }).then(() => null, (e: Error) => e);
      assert.match(error?.message ?? 'no error', /need one thread/);
    }
  } finally {
    workers.close();
  }
});

test.run();
