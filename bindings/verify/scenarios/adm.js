/**
 * Scenarios of the improved-DDPM / ADM features: the learned-variance kernels, a training run with the hybrid loss
 * (learned range, importance-sampled timesteps past their warm-up, Min-SNR-gamma, offset noise) then DDPM sampling
 * with the learned variance, a model conditioned by concatenation, labels per attribute with composed guidance,
 * and the bound of a learned-variance model on a respaced chain. Sizes are odd where kernels have SIMD remainders.
 */
import { disposeModel, train, weights } from './diffusion.js';
import { floats, input, inputBetween } from './inputs.js';

const UNET = { sampleSize: 8, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };

/** Images of 8-bit values k / 127.5 - 1 (the discretised decoder's grid). */
function eightBit(count, seed) {
  return floats(count, seed).map((v) => Math.round((v + 1) * 127.5) / 127.5 - 1);
}

export const admScenarios = [
  {
    name: 'learnedRangeLogVariance + backward, varianceNoise 3x37',
    needs: ['learnedRangeLogVariance', 'learnedRangeLogVarianceBackward', 'varianceNoise'],
    run: (lib) => {
      const v = input(lib, [3, 37], 4000, 1.3), dLogVar = input(lib, [3, 37], 4001);
      const minLog = [-9.2, -7.5, -5.1], maxLog = [-4.6, -4.4, -3.9];
      const logVar = lib.ops.learnedRangeLogVariance(v, minLog, maxLog);
      const dv = lib.ops.learnedRangeLogVarianceBackward(dLogVar, minLog, maxLog);
      const noisy = lib.ops.varianceNoise(input(lib, [3, 37], 4002), inputBetween(lib, [3, 37], 4003, -8, 0), input(lib, [3, 37], 4004, 2));
      return { logVar, dv, noisy };
    },
  },
  {
    name: 'hybrid loss: 14 steps of a U-Net with a learned range, importance-sampled timesteps (past the warm-up), Min-SNR-5, offset noise 0.1; then DDPM-4 with its variance',
    needs: ['UNet2DModel', 'DDPMScheduler', 'Trainer', 'ArrayDataset', 'DDPMPipeline', 'LossSecondMomentResampler'],
    async run(lib) {
      const model = new lib.UNet2DModel({ ...UNET, inChannels: 1, outChannels: 2, numClassEmbeds: 2 }, 21);
      const scheduler = new lib.DDPMScheduler({ numTrainTimesteps: 4, predictionType: 'v_prediction', varianceType: 'learned_range' });
      const dataset = new lib.ArrayDataset('bits', eightBit(12 * 64, 4100), [1, 8, 8], Int32Array.from({ length: 12 }, (_, i) => i % 2), ['a', 'b']);
      const trainer = new lib.Trainer({
        model, scheduler, dataset, batchSize: 6, learningRate: 1e-3, warmupSteps: 1, seed: 22,
        loss: 'hybrid', timestepSampling: 'importance', snrGamma: 5, noiseOffset: 0.1,
      });
      try {
        const losses = await train(trainer, 14);
        if (!trainer.timestepSampler.warmedUp) throw new Error('the importance sampler should be warmed up after 14 steps of 6 samples');
        const samples = await new lib.DDPMPipeline({ model, scheduler }).generate({ batchSize: 2, seed: 23, classLabels: Int32Array.of(0, 1) });
        return { losses, weights: await weights(model.params.values), history: trainer.timestepSampler.history.slice(), samples };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'conditioning by concatenation: 2 training steps on colorize pairs, then DDIM-5 of 2 images from their grey conditions',
    needs: ['UNet2DModel', 'DDIMScheduler', 'Trainer', 'ArrayDataset', 'ConditionedDataset', 'DiffusionPipeline'],
    async run(lib) {
      const model = new lib.UNet2DModel({ ...UNET, inChannels: 3, conditionChannels: 1 }, 31);
      const scheduler = new lib.DDIMScheduler({ numTrainTimesteps: 100, predictionType: 'v_prediction' });
      const dataset = new lib.ConditionedDataset(new lib.ArrayDataset('colors', floats(6 * 3 * 64, 4200), [3, 8, 8]), 'colorize');
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 4, learningRate: 1e-3, warmupSteps: 1, seed: 32 });
      try {
        const losses = await train(trainer, 2);
        const condition = input(lib, [2, 1, 8, 8], 4201);
        const images = await new lib.DiffusionPipeline({ model, scheduler }).generate({ batchSize: 2, numInferenceSteps: 5, seed: 33, condition });
        condition.dispose();
        return { losses, weights: await weights(model.params.values), images };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'labels per attribute: 2 training steps with dropout per attribute, then DDIM-4 with guidance composed per attribute (3, 1.5)',
    needs: ['UNet2DModel', 'DDIMScheduler', 'Trainer', 'ArrayDataset', 'AttributeDataset', 'DiffusionPipeline', 'encodeAttributes'],
    async run(lib) {
      const model = new lib.UNet2DModel({ ...UNET, inChannels: 3, classAttributes: [3, 2] }, 41);
      const scheduler = new lib.DDIMScheduler({ numTrainTimesteps: 100, predictionType: 'v_prediction' });
      const base = new lib.ArrayDataset('pairs', floats(6 * 3 * 64, 4300), [3, 8, 8], Int32Array.of(0, 1, 2, 3, 4, 5), ['0a', '0b', '1a', '1b', '2a', '2b']);
      const dataset = new lib.AttributeDataset(base, 'pairs-attributes', [3, 2], [['0', '1', '2'], ['a', 'b']]);
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 6, learningRate: 1e-3, warmupSteps: 1, seed: 42, condDropProb: 0.4 });
      try {
        const losses = await train(trainer, 2);
        const classLabels = Int32Array.of(lib.encodeAttributes([2, 1], [3, 2]), lib.encodeAttributes([3, 0], [3, 2]), lib.encodeAttributes([1, 2], [3, 2]));
        const images = await new lib.DiffusionPipeline({ model, scheduler }).generate({ batchSize: 3, numInferenceSteps: 4, seed: 43, classLabels, guidanceScale: [3, 1.5] });
        return { losses, weights: await weights(model.params.values), images };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'variational bound of a learned-range U-Net: the full chain (T = 12) and the respaced one (numSteps 5)',
    needs: ['UNet2DModel', 'DDPMScheduler', 'variationalBound'],
    run: (lib) => {
      const model = new lib.UNet2DModel({ ...UNET, inChannels: 1, outChannels: 2 }, 51);
      try {
        const scheduler = new lib.DDPMScheduler({ numTrainTimesteps: 12, varianceType: 'learned_range' });
        const x0 = lib.Tensor.from(eightBit(3 * 64, 4400), [3, 1, 8, 8]);
        const full = lib.variationalBound(model, scheduler, x0, { decoder: 'discretized', seed: 5 });
        const spaced = lib.variationalBound(model, scheduler, x0, { decoder: 'discretized', seed: 5, numSteps: 5 });
        return { full: full.total, prior: full.prior, decoder: full.decoder, spaced: spaced.total };
      } finally {
        disposeModel(model);
      }
    },
  },
];
