/**
 * The training page's recipe: what `ddpm train --data gaussian8 [--steps N] [--seed S]` builds with its defaults
 * (cli/train-settings.ts's POINT_DEFAULTS, cli/models.ts's MLP preset, cli/data.ts's 20,000 toy points), so that
 * the page's weights after N steps are the command's, bit for bit. test/web/train-page.test.ts trains both and
 * compares the weights' SHA-256 and the trainer's options, so a change of the command's defaults shows up there.
 * Plain JavaScript, no imports: the page's worker and the test use it.
 */

/** Points of the toy data set, as the command draws them (seed 0). */
export const TOY_POINTS = 20000;

/** The defaults of `ddpm train` for 2-D data. */
export const GAUSSIAN8 = {
  steps: 5000, batchSize: 256, learningRate: 2e-3, warmupSteps: 100, emaDecay: 0.995, timesteps: 1000, varianceType: 'fixed_large', seed: 0,
};

/** What the page and the command build for `steps` and `seed`: { dataset, model, scheduler options, trainer options }. */
export function gaussian8Run(lib, { steps = GAUSSIAN8.steps, seed = GAUSSIAN8.seed } = {}) {
  const schedulerOptions = {
    numTrainTimesteps: GAUSSIAN8.timesteps, betaSchedule: 'linear', predictionType: 'epsilon', clipSample: false, varianceType: GAUSSIAN8.varianceType,
  };
  return {
    dataset: lib.toyDataset('gaussian8', TOY_POINTS, 0),
    model: lib.createModel('mlp', { dataDim: 2 }, seed),
    schedulerOptions,
    trainerOptions: {
      batchSize: GAUSSIAN8.batchSize, learningRate: GAUSSIAN8.learningRate, warmupSteps: GAUSSIAN8.warmupSteps,
      // --lr-decay cosine, the 2-D default: the learning rate reaches 0 at the last step.
      decaySteps: steps, emaDecay: GAUSSIAN8.emaDecay, seed,
    },
  };
}
