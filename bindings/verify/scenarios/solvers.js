/**
 * Scenarios of the fast solvers (bindings/schedulers/): a few steps of a fixed sampling loop per scheduler, with
 * the toy model of the diffusers fixtures (scripts/fixtures/schedulers.py), computed in JavaScript doubles (exact
 * in every engine) and rounded to float32 by Tensor.from; the stochastic ones draw their noise from the seed.
 * Also the two kernels they add, schedulerCombine and schedulerThreshold, on odd sizes.
 */
import { input } from './inputs.js';

const SHAPE = [2, 2, 5, 5];

/** The fixtures' toy model: float32(0.5 x + 0.25 (u² - 0.5 u) + 1.2 w_i), u = t / T, w_i = ((i mod 7) - 3) / 3. */
function toyModel(lib, x, t, T) {
  const u = t / T;
  return lib.Tensor.from(x.toFloat32Array().map((v, i) => 0.5 * v + 0.25 * (u * u - 0.5 * u) + 1.2 * (((i % 7) - 3) / 3)), x.shape);
}

/** Runs `steps` steps from a fixed x_T (times initNoiseSigma); returns every step's sample and predicted x0. */
function loop(lib, scheduler, steps, seed, stepOptions = {}) {
  scheduler.setTimesteps(steps);
  const T = scheduler.config.numTrainTimesteps;
  let x = lib.ops.schedulerCombine([[input(lib, SHAPE, seed), scheduler.initNoiseSigma]]);
  const samples = [], x0s = [];
  for (const t of scheduler.timesteps) {
    const out = toyModel(lib, scheduler.scaleModelInput(x, t), t, T);
    const { prevSample, predOriginalSample } = scheduler.step(out, t, x, stepOptions);
    samples.push(prevSample.toFloat32Array());
    x0s.push(predOriginalSample.toFloat32Array());
    x = prevSample;
  }
  scheduler.reset();
  const concat = (arrays) => Float32Array.from(arrays.flatMap((a) => Array.from(a)));
  return { samples: concat(samples), x0s: concat(x0s), sigmas: Float64Array.from(scheduler.sigmas), timesteps: Float64Array.from(scheduler.timesteps) };
}

export const solverScenarios = [
  {
    name: 'schedulerCombine of 5 tensors of 37 values, clamped; schedulerThreshold of 3 items of 29',
    needs: ['schedulerCombine', 'schedulerThreshold'],
    run: (lib) => {
      const terms = [0, 1, 2, 3, 4].map((k) => [input(lib, [37], 4100 + k, 3), (k % 2 ? -1 : 1) / (k + 1.37)]);
      const { sample, scales } = lib.ops.schedulerThreshold(input(lib, [3, 29], 4110, 4), 0.87, 2.5);
      return { combined: lib.ops.schedulerCombine(terms, 0.9), thresholded: sample, scales };
    },
  },
  {
    name: 'DPMSolverMultistepScheduler: 2M Karras with thresholding, 8 steps; SDE-DPM-Solver++ 2M, 6 steps, seeded noise',
    needs: ['DPMSolverMultistepScheduler'],
    run: (lib) => ({
      karras: loop(lib, new lib.DPMSolverMultistepScheduler({ useKarrasSigmas: true, thresholding: true, sampleMaxValue: 1.2, predictionType: 'v_prediction' }), 8, 4200),
      sde: loop(lib, new lib.DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++', solverType: 'heun' }), 6, 4201, { seed: 7 }),
    }),
  },
  {
    name: 'UniPCMultistepScheduler: order 3 with thresholding, 8 steps',
    needs: ['UniPCMultistepScheduler'],
    run: (lib) => loop(lib, new lib.UniPCMultistepScheduler({ solverOrder: 3, thresholding: true, dynamicThresholdingRatio: 0.8, sampleMaxValue: 1.3 }), 8, 4300),
  },
  {
    name: 'EulerDiscreteScheduler: Karras sigmas with churn, 7 steps, seeded noise',
    needs: ['EulerDiscreteScheduler'],
    run: (lib) => loop(lib, new lib.EulerDiscreteScheduler({ useKarrasSigmas: true, predictionType: 'sample' }), 7, 4400, { sChurn: 2, sTmin: 0.5, sTmax: 50, seed: 3 }),
  },
  {
    name: 'EulerAncestralDiscreteScheduler: zero terminal SNR, v_prediction, trailing, 6 steps, seeded noise',
    needs: ['EulerAncestralDiscreteScheduler'],
    run: (lib) => loop(lib, new lib.EulerAncestralDiscreteScheduler({ rescaleBetasZeroSnr: true, predictionType: 'v_prediction', timestepSpacing: 'trailing' }), 6, 4500, { seed: 5 }),
  },
  {
    name: 'HeunDiscreteScheduler: Karras sigmas, clipSample, 4 steps (7 evaluations)',
    needs: ['HeunDiscreteScheduler'],
    run: (lib) => loop(lib, new lib.HeunDiscreteScheduler({ useKarrasSigmas: true, clipSample: true }), 4, 4600),
  },
];
