/**
 * Scenarios of the likelihood view and the score-SDE samplers: the likelihood ops and their gradients, the
 * variational bound of small models (Gaussian and discretised decoders), and sampling with the predictor-corrector
 * and probability-flow schedulers. Sizes are odd (SIMD remainders); 8-bit inputs include the edge bins -1 and 1.
 */
import { floats, input, inputBetween } from './inputs.js';

/** 8-bit values k / 127.5 - 1 from seeded floats, so that every bin kind (bottom, middle, top) occurs. */
function eightBit(lib, shape, seed) {
  const values = floats(shape.reduce((a, b) => a * b, 1), seed).map((v) => Math.round((v * 1.1 + 1) * 127.5) / 127.5 - 1);
  return lib.Tensor.from(values.map((v) => Math.min(1, Math.max(-1, v))), shape);
}

/** The loop of a pipeline: x_T from the initial-noise stream, then one step per entry of the scheduler's timesteps. */
function sampleLoop(lib, model, scheduler, N, seed) {
  let x = lib.keep(lib.ops.randn([N, ...model.sampleShape], { seed, stream: 0x696e6974 }));
  for (const t of scheduler.timesteps) {
    const options = scheduler.stepOptionNames.includes('seed') ? { seed } : {};
    const next = lib.tidy(() => scheduler.step(model.forward(x, new Int32Array(N).fill(t)), t, x, options).prevSample);
    x.dispose();
    x = next;
  }
  const samples = x.toFloat32Array();
  x.dispose();
  return samples;
}

export const likelihoodScenarios = [
  {
    name: 'normalKL + backward 3x37',
    needs: ['normalKL', 'normalKLBackward'],
    run: (lib) => {
      const m1 = input(lib, [3, 37], 3000, 2), lv1 = inputBetween(lib, [3, 37], 3001, -6, 1);
      const m2 = input(lib, [3, 37], 3002, 2), lv2 = inputBetween(lib, [3, 37], 3003, -6, 1);
      const grads = lib.ops.normalKLBackward([0.5, -1, 2], m1, lv1, m2, lv2);
      return { kl: lib.ops.normalKL(m1, lv1, m2, lv2), dMean2: grads.dMean2, dLogVar2: grads.dLogVar2 };
    },
  },
  {
    name: 'gaussianLogLikelihood + backward 2x29',
    needs: ['gaussianLogLikelihood', 'gaussianLogLikelihoodBackward'],
    run: (lib) => {
      const x = input(lib, [2, 29], 3100, 3), m = input(lib, [2, 29], 3101, 3), ls = inputBetween(lib, [2, 29], 3102, -4, 1);
      const grads = lib.ops.gaussianLogLikelihoodBackward([1, -0.25], x, m, ls);
      return { logLikelihood: lib.ops.gaussianLogLikelihood(x, m, ls), dMeans: grads.dMeans, dLogScales: grads.dLogScales };
    },
  },
  {
    name: 'discretizedGaussianLogLikelihood + backward 3x41 8-bit values incl. -1 and 1',
    needs: ['discretizedGaussianLogLikelihood', 'discretizedGaussianLogLikelihoodBackward'],
    run: (lib) => {
      const x = eightBit(lib, [3, 41], 3200), ls = inputBetween(lib, [3, 41], 3202, -6, 0);
      const m = lib.ops.add(x, input(lib, [3, 41], 3201, 0.05));
      const grads = lib.ops.discretizedGaussianLogLikelihoodBackward([1, 2, -1], x, m, ls);
      return { logLikelihood: lib.ops.discretizedGaussianLogLikelihood(x, m, ls), dMeans: grads.dMeans, dLogScales: grads.dLogScales };
    },
  },
  {
    name: 'sumOfSquaresPerItem 3x1031',
    needs: ['sumOfSquaresPerItem'],
    run: (lib) => lib.ops.sumOfSquaresPerItem(input(lib, [3, 1031], 3300, 4)),
  },
  {
    name: 'variationalBound: an MLP on 5 points (Gaussian decoder, fixed_large) and on 3 8-bit vectors (discretised, v, clipped), T = 40',
    needs: ['variationalBound', 'MLPDenoiser', 'DDPMScheduler'],
    run: (lib) => {
      const points = new lib.MLPDenoiser({ hiddenSize: 32, numBlocks: 1 }, 3);
      const vectors = new lib.MLPDenoiser({ dataDim: 7, hiddenSize: 32, numBlocks: 1 }, 4);
      try {
        const gaussian = lib.variationalBound(points, new lib.DDPMScheduler({ numTrainTimesteps: 40, varianceType: 'fixed_large', clipSample: false }),
          input(lib, [5, 2], 3400, 3), { decoder: 'gaussian', seed: 5, exampleIndices: [0, 1, 2, 10, 11] });
        const discretized = lib.variationalBound(vectors, new lib.DDPMScheduler({ numTrainTimesteps: 40, predictionType: 'v_prediction' }),
          eightBit(lib, [3, 7], 3401), { decoder: 'discretized', seed: 6 });
        const parts = (r) => ({ total: r.total, prior: r.prior, diffusion: r.diffusion, decoder: r.decoder });
        return { gaussian: parts(gaussian), discretized: parts(discretized) };
      } finally {
        for (const model of [points, vectors]) { model.params.values.dispose(); model.params.grads.dispose(); }
      }
    },
  },
  {
    name: 'score-SDE samplers: an MLP, 9 points, predictor-corrector (2 corrector steps) and probability-flow ODE, 8 of 50 timesteps',
    needs: ['ScoreSdePCScheduler', 'ScoreSdeODEScheduler', 'MLPDenoiser'],
    run: (lib) => {
      const model = new lib.MLPDenoiser({ hiddenSize: 32, numBlocks: 1 }, 7);
      try {
        const pc = new lib.ScoreSdePCScheduler({ numTrainTimesteps: 50, correctorSteps: 2, predictionType: 'v_prediction' });
        const ode = new lib.ScoreSdeODEScheduler({ numTrainTimesteps: 50 });
        pc.setTimesteps(8);
        ode.setTimesteps(8);
        return { pc: sampleLoop(lib, model, pc, 9, 11), ode: sampleLoop(lib, model, ode, 9, 12) };
      } finally {
        model.params.values.dispose();
        model.params.grads.dispose();
      }
    },
  },
];
