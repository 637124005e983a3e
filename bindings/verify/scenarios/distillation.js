/**
 * Progressive distillation (bindings/train/progressive-distillation.ts) end to end: a tiny class-conditional U-Net
 * teacher distilled from 8 to 2 DDIM steps in two rounds of two steps, with classifier-free guidance 2 distilled
 * in; each round's teacher is the previous student's EMA. The losses and every weight of the final student.
 */
import { floats } from './inputs.js';
import { disposeModel, weights } from './diffusion.js';

export const distillationScenarios = [
  {
    name: 'progressive distillation of a tiny conditional U-Net: 8 -> 4 -> 2 steps, two steps a round, guidance 2',
    needs: ['ProgressiveDistillation', 'UNet2DModel', 'DDPMScheduler', 'ArrayDataset'],
    async run(lib) {
      const model = new lib.UNet2DModel({
        sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4],
        numHeads: 2, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift',
      }, 11);
      const scheduler = new lib.DDPMScheduler({ predictionType: 'v_prediction' });
      const labels = Int32Array.from({ length: 8 }, (_, i) => i % 3);
      const dataset = new lib.ArrayDataset('tiny', floats(8 * 64, 4200), [1, 8, 8], labels, ['a', 'b', 'c']);
      const run = new lib.ProgressiveDistillation(model, scheduler, dataset, {
        fromSteps: 8, toSteps: 2, stepsPerRound: 2, guidanceScale: 2, batchSize: 4, learningRate: 1e-3, warmupSteps: 1,
        gradientShards: 2, seed: 12,
      });
      try {
        const losses = [];
        for await (const report of run.run()) losses.push(report.loss);
        return { losses: Float64Array.from(losses), student: await weights(run.studentWeights) };
      } finally {
        await run.dispose();
        disposeModel(model);
      }
    },
  },
];
