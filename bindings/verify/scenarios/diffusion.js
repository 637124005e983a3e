/**
 * End-to-end scenarios: training runs and sampling through the public diffusion API. Each returns the losses,
 * a strided probe of the trained weights (values, so a failure shows an element), a SHA-256 of all of them
 * (every bit counts), and the samples. Async: they free their own tensors (collect.js frees the returned ones).
 */
import { floats } from './inputs.js';

/** Every `stride`-th element of a flat tensor's values, plus the SHA-256 of all of them. */
export async function weights(tensor, count = 512) {
  const values = tensor.toFloat32Array();
  const stride = Math.max(1, Math.floor(values.length / count));
  const probe = new Float32Array(Math.ceil(values.length / stride));
  for (let i = 0; i < probe.length; i++) probe[i] = values[i * stride];
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', values));
  return { probe, sha256: digest };
}

export function disposeModel(model) {
  model.params.values?.dispose();
  model.params.grads?.dispose();
}

export async function train(trainer, steps) {
  const losses = new Float64Array(steps);
  for (let i = 0; i < steps; i++) losses[i] = (await trainer.trainStep()).loss;
  return losses;
}

export const diffusionScenarios = [
  {
    name: 'MLP denoiser: 50 training steps on gaussian8, then 256 DDPM samples in 50 steps',
    needs: ['MLPDenoiser', 'DDPMScheduler', 'Trainer', 'toyDataset', 'DDPMPipeline'],
    async run(lib) {
      const model = new lib.MLPDenoiser({ hiddenSize: 64, numBlocks: 2 }, 1);
      const scheduler = new lib.DDPMScheduler({ numTrainTimesteps: 1000 });
      const trainer = new lib.Trainer({
        model, scheduler, dataset: lib.toyDataset('gaussian8', 4096, 2), batchSize: 64, learningRate: 1e-3,
        warmupSteps: 5, seed: 3,
      });
      try {
        const losses = await train(trainer, 50);
        const samples = await new lib.DDPMPipeline({ model, scheduler }).generate({ batchSize: 256, numInferenceSteps: 50, seed: 4 });
        return { losses, weights: await weights(model.params.values), ema: await weights(trainer.ema), samples };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'tiny U-Net with attention: 3 training steps on 8x8 images, then DDIM sampling of 2 images in 10 steps',
    needs: ['UNet2DModel', 'DDIMScheduler', 'Trainer', 'ArrayDataset', 'DDIMPipeline'],
    async run(lib) {
      const model = new lib.UNet2DModel({
        sampleSize: 8, inChannels: 3, blockOutChannels: [8, 16], layersPerBlock: 1, attentionResolutions: [4],
        numHeads: 2, normNumGroups: 4,
      }, 5);
      const scheduler = new lib.DDIMScheduler({ numTrainTimesteps: 1000 });
      const dataset = new lib.ArrayDataset('noise-images', floats(16 * 3 * 8 * 8, 3000), [3, 8, 8]);
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 4, learningRate: 1e-3, warmupSteps: 1, seed: 6 });
      try {
        const losses = await train(trainer, 3);
        const images = await new lib.DDIMPipeline({ model, scheduler }).generate({ batchSize: 2, numInferenceSteps: 10, seed: 8 });
        return { losses, weights: await weights(model.params.values), images };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'class-conditional U-Net predicting v: 3 training steps with label dropout, then DDIM with classifier-free guidance 3 and with classifier guidance',
    needs: ['UNet2DModel', 'NoiseAwareClassifier', 'DDIMScheduler', 'Trainer', 'ArrayDataset', 'DDIMPipeline'],
    async run(lib) {
      const unet = { sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };
      const model = new lib.UNet2DModel({ ...unet, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift' }, 9);
      const classifier = new lib.NoiseAwareClassifier({ ...unet, numClasses: 3 }, 10);
      const scheduler = new lib.DDIMScheduler({ numTrainTimesteps: 1000, predictionType: 'v_prediction' });
      const dataset = new lib.ArrayDataset('labelled-noise', floats(12 * 64, 3100), [1, 8, 8], Int32Array.from({ length: 12 }, (_, i) => i % 3), ['a', 'b', 'c']);
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 6, learningRate: 1e-3, warmupSteps: 1, seed: 11, condDropProb: 0.5 });
      try {
        const losses = await train(trainer, 3);
        const pipeline = new lib.DDIMPipeline({ model, scheduler });
        const options = { batchSize: 3, numInferenceSteps: 5, seed: 12, classLabels: [2, 0, 1], eta: 0.5 };
        const freeGuided = await pipeline.generate({ ...options, guidanceScale: 3 });
        const classifierGuided = await pipeline.generate({ ...options, classifier, classifierScale: 2 });
        return { losses, weights: await weights(model.params.values), freeGuided, classifierGuided };
      } finally {
        await trainer.dispose();
        disposeModel(model);
        disposeModel(classifier);
      }
    },
  },
];
