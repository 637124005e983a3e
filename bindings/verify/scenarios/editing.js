/**
 * Editing scenarios: inpainting (RePaint with resampling jumps), img2img with a few-step solver and with Euler
 * ancestral (noise addressed by step index), and a DDIM inversion round trip with interpolation, through the
 * public pipelines on a tiny untrained U-Net with seeded weights. Async: they free their own tensors.
 */
import { input } from './inputs.js';
import { disposeModel } from './diffusion.js';

const UNET = {
  sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2,
  numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift',
};
const SCHEDULE = { numTrainTimesteps: 200, predictionType: 'v_prediction' };

/** A mask of 1 (keep) and 0 (paint): the left half of each image kept, plus a diagonal. */
function halfMask(lib, n) {
  const values = new Float32Array(n * 64);
  for (let i = 0; i < values.length; i++) {
    const x = i % 8, y = Math.floor(i / 8) % 8;
    values[i] = x < 4 || x === y ? 1 : 0;
  }
  return lib.Tensor.from(values, [n, 1, 8, 8]);
}

async function withModel(lib, seed, run) {
  const model = new lib.UNet2DModel(UNET, seed);
  try {
    return await run(model);
  } finally {
    disposeModel(model);
  }
}

export const editingScenarios = [
  {
    name: 'RePaint inpainting: 12 steps with jumps of 3 x 2, eta 1, guidance 2, a one-channel mask, batch 3 from sample 1',
    needs: ['RePaintPipeline', 'RePaintScheduler', 'UNet2DModel'],
    run: async (lib) => withModel(lib, 31, async (model) => {
      const image = input(lib, [3, 1, 8, 8], 7100), mask = halfMask(lib, 3);
      try {
        const pipe = new lib.RePaintPipeline({ model, scheduler: new lib.RePaintScheduler(SCHEDULE) });
        return await pipe.generate({
          image, maskImage: mask, batchSize: 3, firstSample: 1, numInferenceSteps: 12, jumpLength: 3, jumpNSample: 2, eta: 1,
          seed: 5, classLabels: [0, 2, 1], guidanceScale: 2,
        });
      } finally {
        image.dispose();
        mask.dispose();
      }
    }),
  },
  {
    name: 'img2img: DPM-Solver++ 2M Karras, 10 steps at strength 0.6; Euler ancestral, 8 steps at strength 0.75; one image for a batch of 2',
    needs: ['DiffusionPipeline', 'DPMSolverMultistepScheduler', 'EulerAncestralDiscreteScheduler', 'UNet2DModel'],
    run: async (lib) => withModel(lib, 32, async (model) => {
      const image = input(lib, [1, 1, 8, 8], 7200);
      try {
        const dpm = new lib.DiffusionPipeline({ model, scheduler: new lib.DPMSolverMultistepScheduler({ ...SCHEDULE, useKarrasSigmas: true }) });
        const ancestral = new lib.DiffusionPipeline({ model, scheduler: new lib.EulerAncestralDiscreteScheduler(SCHEDULE) });
        const common = { image, batchSize: 2, seed: 9, classLabels: [1, 2] };
        return {
          dpmSolver: await dpm.generate({ ...common, strength: 0.6, numInferenceSteps: 10 }),
          eulerAncestral: await ancestral.generate({ ...common, strength: 0.75, numInferenceSteps: 8 }),
        };
      } finally {
        image.dispose();
      }
    }),
  },
  {
    name: 'DDIM inversion round trip (12 steps, no clipping) and a 4-frame slerp interpolation between two seeds',
    needs: ['DDIMPipeline', 'DDIMScheduler', 'DDIMInverseScheduler', 'interpolate', 'slerp', 'UNet2DModel'],
    run: async (lib) => withModel(lib, 33, async (model) => {
      const pipe = new lib.DDIMPipeline({ model, scheduler: new lib.DDIMScheduler({ ...SCHEDULE, clipSample: false }) });
      const image = input(lib, [2, 1, 8, 8], 7300);
      try {
        const latents = await pipe.invert({ image, numInferenceSteps: 12, classLabels: [0, 1] });
        const back = await pipe.generate({ latents, batchSize: 2, numInferenceSteps: 12, classLabels: [0, 1] });
        const frames = await lib.interpolate(pipe, { from: { seed: 3 }, to: { seed: 4 }, frames: 4, numInferenceSteps: 6, classLabels: [2, 2, 2, 2] });
        return { latents, back, frames };
      } finally {
        image.dispose();
      }
    }),
  },
];
