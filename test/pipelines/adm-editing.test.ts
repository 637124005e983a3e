// Editing (img2img, RePaint, DDIM inversion) with the improved-DDPM / ADM models: a conditioned U-Net edits with its
// conditioning images at every step, a learned variance edits with DDPM's learned range or a deterministic sampler;
// what cannot serve (img2img with the score-SDE samplers' one call plan, RePaint's fixed variance for a learned one)
// is a one-line error that leaves nothing allocated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMScheduler, DDPMScheduler, DiffusionPipeline, init, memoryStats, RePaintPipeline, RePaintScheduler, ScoreSdeODEScheduler, ScoreSdePCScheduler,
  Tensor, UNet2DModel, UniPCMultistepScheduler,
} from '../../bindings/index.ts';
import { randomTensor } from '../helpers.ts';

await init();

const UNET = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };
const schedule = { numTrainTimesteps: 20 };
const conditioned = new UNet2DModel({ ...UNET, conditionChannels: 1 }, 2);
const learned = new UNet2DModel({ ...UNET, outChannels: 2 }, 3);
const take = async (promise: Promise<Tensor>) => {
  const t = await promise;
  const out = t.toFloat32Array();
  t.dispose();
  return out;
};

test('img2img of a conditioned U-Net: the condition reaches every step (two conditions, two edits); batches of firstSample agree', async () => {
  const image = randomTensor([1, 1, 8, 8], 1), a = randomTensor([2, 1, 8, 8], 2), b = randomTensor([2, 1, 8, 8], 3);
  try {
    const pipe = new DiffusionPipeline({ model: conditioned, scheduler: new UniPCMultistepScheduler(schedule) });
    const edit = (condition: Tensor, extra = {}) => take(pipe.generate({ image, strength: 0.6, numInferenceSteps: 5, batchSize: 2, seed: 4, condition, ...extra }));
    const first = await edit(a), again = await edit(a), other = await edit(b);
    assert.equal(Array.from(again), Array.from(first), 'deterministic');
    assert.not.equal(Array.from(other), Array.from(first), 'another condition, another edit');
    const second = a.view().slice(64);
    const half = await take(pipe.generate({ image, strength: 0.6, numInferenceSteps: 5, batchSize: 1, seed: 4, firstSample: 1, condition: Tensor.from(second, [1, 1, 8, 8]) }));
    assert.equal(Array.from(half), Array.from(first.slice(64)), 'the second sample alone');
  } finally {
    for (const t of [image, a, b]) t.dispose();
  }
});

test('RePaint and DDIM inversion of a conditioned U-Net take its condition; inversion of a learned variance drops the variance channels', async () => {
  const image = randomTensor([1, 1, 8, 8], 5), condition = randomTensor([1, 1, 8, 8], 6);
  const mask = Tensor.from(Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : 0)), [1, 1, 8, 8]);
  try {
    const repaint = new RePaintPipeline({ model: conditioned, scheduler: new RePaintScheduler(schedule) });
    const painted = await take(repaint.generate({ image, maskImage: mask, condition, numInferenceSteps: 6, jumpLength: 2, jumpNSample: 2, seed: 1 }));
    assert.equal(Array.from(painted.slice(0, 32)), Array.from(image.view().slice(0, 32)), 'the kept pixels');
    const inverted = await take(new DiffusionPipeline({ model: conditioned, scheduler: new DDIMScheduler(schedule) }).invert({ image, condition, numInferenceSteps: 4 }));
    assert.ok(inverted.every(Number.isFinite) && inverted.some((v, i) => v !== image.view()[i]));
    const ddpm = new DiffusionPipeline({ model: learned, scheduler: new DDPMScheduler({ ...schedule, varianceType: 'learned_range' }) });
    const latent = await take(ddpm.invert({ image, numInferenceSteps: 4 }));
    assert.equal(latent.length, 64, 'the sample\'s channels, not the model output\'s');
    const edited = await take(ddpm.generate({ image, strength: 0.5, numInferenceSteps: 6, seed: 2 }));
    assert.ok(edited.every(Number.isFinite));
  } finally {
    for (const t of [image, condition, mask]) t.dispose();
  }
});

test('what cannot serve is one line, and nothing is left allocated', async () => {
  const image = randomTensor([1, 1, 8, 8], 7);
  const mask = Tensor.from(new Float32Array(64).fill(1), [1, 1, 8, 8]);
  try {
    const before = memoryStats().liveBytes;
    for (const [pipeline, options, expected] of [
      [new DiffusionPipeline({ model: learned, scheduler: new ScoreSdePCScheduler(schedule) }), { image, strength: 0.5 }, /img2img \(image and strength\) needs a scheduler that can start part-way; ScoreSdePCScheduler runs its whole call plan/],
      [new DiffusionPipeline({ model: learned, scheduler: new ScoreSdeODEScheduler(schedule) }), { image, strength: 0.5 }, /ScoreSdeODEScheduler runs its whole call plan/],
      [new RePaintPipeline({ model: learned, scheduler: new RePaintScheduler(schedule) }), { image, maskImage: mask, numInferenceSteps: 4, jumpLength: 2, jumpNSample: 2 }, /a learned-variance model sampled with a scheduler that ignores variance: RePaintScheduler/],
      [new DiffusionPipeline({ model: conditioned, scheduler: new DDIMScheduler(schedule) }), { image, strength: 0.5 }, /the model is conditioned on an image of 1 channels: give condition \[1, 1, 8, 8\]/],
    ] as [DiffusionPipeline, object, RegExp][]) {
      let message = '';
      try {
        (await pipeline.generate(options)).dispose();
      } catch (error) {
        message = (error as Error).message;
      }
      assert.match(message, expected);
      assert.not.ok(message.includes('\n'), message);
      assert.is(memoryStats().liveBytes, before, message);
    }
  } finally {
    image.dispose();
    mask.dispose();
  }
});

test.run();
