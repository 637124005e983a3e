/**
 * Scenarios of diffusers' UNet2DModel options: the kernels they added (2x2 average pooling, FIR resampling, zero
 * padding, ReLU, GELU and Mish, Gaussian Fourier features, per-sample division), forward and backward, and
 * U-Nets that use them trained and sampled through the public API: BigGAN resampling blocks with heads by size,
 * NCSN++ skip blocks with Fourier time features and a centred input (trained on noise levels by hand, since
 * Fourier features need t > 0), and a learned time table on non-square samples with GELU.
 */
import { disposeModel, train, weights } from './diffusion.js';
import { floats, input } from './inputs.js';

/** Values where the activations' exp saturates, plus random ones. */
function activationInput(lib) {
  const special = [0, -0, 1e-30, -1e-30, 20, 20.5, -20, 88.8, -88.8, 100, -100, -0.75, -1.2, -4.5, 3e38, -3e38];
  const values = Float32Array.from([...special, ...floats(27, 2500, 9)]);
  return lib.Tensor.from(values, [values.length]);
}

const activations = ['relu', 'gelu', 'mish'].map((name) => ({
  name: `${name} + ${name}Backward 43 values incl. ±0, ±20, ±88.8, ±100, ±3e38`,
  needs: [name, `${name}Backward`],
  run: (lib) => {
    const x = activationInput(lib);
    return { y: lib.ops[name](x), dx: lib.ops[`${name}Backward`](input(lib, [x.size], 2501), x) };
  },
}));

const resamplers = [
  ['avgPool2x2', [2, 3, 6, 10]],
  ['firDownsample2x', [2, 2, 8, 22]],
  ['firUpsample2x', [2, 2, 5, 13]],
].map(([name, shape], i) => ({
  name: `${name} + ${name}Backward ${shape.join('x')}`,
  needs: [name, `${name}Backward`],
  run: (lib) => {
    const y = lib.ops[name](input(lib, shape, 2600 + 10 * i));
    return { y, dx: lib.ops[`${name}Backward`](input(lib, y.shape, 2601 + 10 * i), { dx: input(lib, shape, 2602 + 10 * i) }) };
  },
}));

export const unetOptionScenarios = [
  ...activations,
  ...resamplers,
  {
    name: 'pad2d + pad2dBackward 2x3x5x7 by (0, 1, 0, 1) and (2, 0, 3, 1)',
    needs: ['pad2d', 'pad2dBackward'],
    run: (lib) => {
      const x = input(lib, [2, 3, 5, 7], 2700), pads = { top: 2, bottom: 0, left: 3, right: 1 };
      return {
        rightBottom: lib.ops.pad2d(x, { top: 0, bottom: 1, left: 0, right: 1 }),
        y: lib.ops.pad2d(x, pads), dx: lib.ops.pad2dBackward(input(lib, [2, 3, 7, 11], 2701), pads),
      };
    },
  },
  {
    name: 'fourierEmbedding 5 timesteps (1e-3 to 999) 6 frequencies * 16',
    needs: ['fourierEmbedding'],
    run: (lib) => lib.ops.fourierEmbedding(Float32Array.from([1e-3, 0.25, 1, 80.5, 999]), input(lib, [6], 2800, 16)),
  },
  {
    name: 'divideRows + divideRowsBackward 3x2x5x5 by √2, 0.25, -3',
    needs: ['divideRows', 'divideRowsBackward'],
    run: (lib) => {
      const d = Float32Array.from([Math.SQRT2, 0.25, -3]);
      return { y: lib.ops.divideRows(input(lib, [3, 2, 5, 5], 2900), d), dx: lib.ops.divideRowsBackward(input(lib, [3, 2, 5, 5], 2901), d) };
    },
  },
  {
    name: 'U-Net with BigGAN resampling blocks, heads by size, Mish: 3 training steps, then DDIM sampling of 2 images in 10 steps',
    needs: ['UNet2DModel', 'DDIMScheduler', 'Trainer', 'ArrayDataset', 'DDIMPipeline'],
    async run(lib) {
      const model = new lib.UNet2DModel({
        sampleSize: 8, inChannels: 3, blockOutChannels: [8, 16, 16], layersPerBlock: 1, normNumGroups: 4, normEps: 1e-6,
        downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'], downsampleType: 'resnet', upsampleType: 'resnet',
        attentionHeadDim: 6, actFn: 'mish', midBlockScaleFactor: Math.SQRT2,
      }, 21);
      const scheduler = new lib.DDIMScheduler({ numTrainTimesteps: 1000 });
      const dataset = new lib.ArrayDataset('noise-images', floats(16 * 3 * 8 * 8, 3200), [3, 8, 8]);
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 4, learningRate: 1e-3, warmupSteps: 1, seed: 22 });
      try {
        const losses = await train(trainer, 3);
        const images = await new lib.DDIMPipeline({ model, scheduler }).generate({ batchSize: 2, numInferenceSteps: 10, seed: 23 });
        return { losses, weights: await weights(model.params.values), images };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'NCSN++ U-Net (skip blocks, Fourier time features, centred input): 3 AdamW steps on noise levels, then outputs at sigma 0.5 and 50',
    needs: ['UNet2DModel', 'AdamW', 'fourierEmbedding'],
    async run(lib) {
      const model = new lib.UNet2DModel({
        sampleSize: 8, blockOutChannels: [8, 16], layersPerBlock: 1, normNumGroups: 4, attentionHeadDim: 8, timeEmbeddingType: 'fourier',
        centerInputSample: true, downBlockTypes: ['SkipDownBlock2D', 'AttnDownBlock2D'], upBlockTypes: ['SkipUpBlock2D', 'SkipUpBlock2D'],
      }, 31);
      const optimizer = new lib.AdamW(model.params.size, {
        learningRate: 1e-3, warmupSteps: 1, decay: 'constant', decaySteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradClipNorm: 1,
      });
      try {
        const losses = new Float64Array(3);
        for (let step = 0; step < 3; step++) {
          losses[step] = lib.tidy(() => {
            // x_sigma = x + sigma * noise (in JavaScript: + and * are exact everywhere); the model predicts the noise.
            const sigmas = Float32Array.from([0.1, 1, 5, 20].map((s) => s * (step + 1)));
            const noise = lib.ops.randn([4, 3, 8, 8], { seed: 40 + step }).toFloat32Array();
            const clean = floats(4 * 3 * 64, 3300 + step, 0.5);
            const noisy = Float32Array.from(clean, (v, i) => Math.fround(v + sigmas[Math.floor(i / 192)] * noise[i]));
            const target = lib.Tensor.from(noise, [4, 3, 8, 8]);
            model.params.zeroGrads();
            const out = model.forward(lib.Tensor.from(noisy, [4, 3, 8, 8]), sigmas);
            const loss = lib.ops.mseLoss(out, target);
            model.backward(lib.ops.mseLossBackward(out, target));
            optimizer.update(model.params, loss, step);
            return loss;
          });
        }
        const outputs = lib.tidy(() => model.forward(input(lib, [2, 3, 8, 8], 3400), Float32Array.from([0.5, 50]), null, { mode: 'inference' }).toFloat32Array());
        return { losses, weights: await weights(model.params.values), outputs };
      } finally {
        optimizer.dispose();
        disposeModel(model);
      }
    },
  },
  {
    name: 'U-Net with a learned time table on 8x16 samples, GELU, padding 0: 3 training steps, then DDPM sampling of 2 images in 5 steps',
    needs: ['UNet2DModel', 'DDPMScheduler', 'Trainer', 'ArrayDataset', 'DDPMPipeline'],
    async run(lib) {
      const model = new lib.UNet2DModel({
        sampleSize: [8, 16], inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, timeEmbeddingType: 'learned',
        numTrainTimesteps: 100, actFn: 'gelu', downsamplePadding: 0, downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'], attentionHeadDim: null,
      }, 41);
      const scheduler = new lib.DDPMScheduler({ numTrainTimesteps: 100 });
      const dataset = new lib.ArrayDataset('wide-noise', floats(8 * 128, 3500), [1, 8, 16]);
      const trainer = new lib.Trainer({ model, scheduler, dataset, batchSize: 4, learningRate: 1e-3, warmupSteps: 1, seed: 42 });
      try {
        const losses = await train(trainer, 3);
        const images = await new lib.DDPMPipeline({ model, scheduler }).generate({ batchSize: 2, numInferenceSteps: 5, seed: 43 });
        return { losses, weights: await weights(model.params.values), images };
      } finally {
        await trainer.dispose();
        disposeModel(model);
      }
    },
  },
];
