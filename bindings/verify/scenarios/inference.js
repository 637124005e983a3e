/**
 * Scenarios of the inference kernels (issue 13): conv2dPacked with its epilogue (bias, channel bias, residual),
 * in both of its layouts (K > 4: channel strips; K <= 4: pixel vectors) and with padding, strides and
 * upsampling; groupNormSilu with its padded output; attentionChannels. They round as the training kernels do
 * (the unit tests pin that); here every runtime must give the same bits. And the Winograd convolution
 * (conv2dWinograd, the sampling pipelines' default), which rounds otherwise but must also give the same bits
 * everywhere, alone and in a U-Net's inference pass with `convolutions: 'winograd'`.
 */
import { disposeModel } from './diffusion.js';
import { input } from './inputs.js';

const convolutions = [
  // [N, C, H, W, K, R, stride, padding, upsample, epilogue]
  [2, 6, 7, 7, 12, 3, 1, 1, false, true],    // 4-pixel tiles across the two images
  [1, 40, 5, 6, 9, 3, 1, 1, false, false],   // 360 taps: a 256-tap block ends inside a channel
  [2, 5, 9, 9, 3, 3, 1, 1, false, true],     // K = 3: pixel vectors, a row of 9 in tiles of 8 and 4
  [1, 4, 8, 8, 1, 3, 1, 1, false, false],    // K = 1
  [2, 4, 9, 9, 8, 3, 2, 1, false, false],    // stride 2 (the downsampler)
  [1, 3, 4, 5, 8, 3, 1, 1, true, false],     // upsample then convolve (the upsampler)
  [2, 7, 5, 5, 10, 1, 1, 0, false, true],    // 1x1 with a residual (a shortcut, an attention projection)
];

const convScenarios = convolutions.map(([N, C, H, W, K, R, stride, padding, upsample, epilogue], i) => ({
  name: `conv2dPacked ${N}x${C}x${H}x${W} k${K} ${R}x${R} stride ${stride} pad ${padding}${upsample ? ' upsample' : ''}${epilogue ? ' +channelBias +residual' : ''}`,
  needs: ['packConv2dWeights', 'conv2dPacked'],
  run: (lib) => {
    const seed = 700 + 10 * i, f = upsample ? 2 : 1;
    const OH = Math.floor((f * H + 2 * padding - R) / stride) + 1, OW = Math.floor((f * W + 2 * padding - R) / stride) + 1;
    const w = lib.ops.packConv2dWeights(input(lib, [K, C, R, R], seed + 1, 0.3));
    const options = { stride, padding, upsample };
    if (epilogue) {
      options.channelBias = input(lib, [N, K], seed + 3);
      options.residual = input(lib, [N, K, OH, OW], seed + 4);
    }
    try {
      return lib.ops.conv2dPacked(input(lib, [N, C, H, W], seed), w, input(lib, [K], seed + 2), options);
    } finally {
      w.dispose();
    }
  },
}));

const normScenarios = [
  // [N, C, H, W, G, padding, modulated]
  [2, 8, 7, 7, 4, 1, true],
  [1, 6, 5, 9, 3, 0, false],
  [2, 4, 3, 2, 2, 2, true],
].map(([N, C, H, W, G, padding, modulated], i) => ({
  name: `groupNormSilu ${N}x${C}x${H}x${W} G${G} padding ${padding}${modulated ? ' AdaGN' : ''}`,
  needs: ['groupNormSilu'],
  run: (lib) => {
    const seed = 800 + 10 * i;
    const modulation = modulated ? { scale: input(lib, [N, C], seed + 3, 0.5), shift: input(lib, [N, C], seed + 4, 0.5) } : {};
    return lib.ops.groupNormSilu(input(lib, [N, C, H, W], seed, 2), G, input(lib, [C], seed + 1), input(lib, [C], seed + 2), 1e-5,
      { ...modulation, padding });
  },
}));

const attentionScenarios = [[2, 2, 8, 7], [1, 3, 5, 3]].map(([N, heads, D, S], i) => ({
  name: `attentionChannels ${N}x${3 * heads * D}x${S}x${S} ${heads} heads`,
  needs: ['attentionChannels'],
  run: (lib) => lib.ops.attentionChannels(input(lib, [N, 3 * heads * D, S, S], 900 + i, 1.5), heads),
}));

const winogradShapes = [
  // [N, C, H, W, K, padding, upsample, epilogue]
  [2, 16, 7, 7, 16, 1, false, true],   // odd sides: the last tiles reach past the image
  [1, 20, 9, 6, 24, 1, false, false],  // K not a multiple of the 8-channel strip
  [2, 5, 5, 5, 3, 1, false, true],     // few channels
  [1, 16, 4, 5, 16, 1, true, false],   // upsample then convolve (the upsampler)
  [1, 3, 1, 1, 2, 1, false, false],    // a 1x1 image
];

const winogradScenarios = winogradShapes.map(([N, C, H, W, K, padding, upsample, epilogue], i) => ({
  name: `conv2dWinograd ${N}x${C}x${H}x${W} k${K} pad ${padding}${upsample ? ' upsample' : ''}${epilogue ? ' +channelBias +residual' : ''}`,
  needs: ['packConv2dWinogradWeights', 'conv2dWinograd'],
  run: (lib) => {
    const seed = 950 + 10 * i, f = upsample ? 2 : 1, OH = f * H + 2 * padding - 2, OW = f * W + 2 * padding - 2;
    const w = lib.ops.packConv2dWinogradWeights(input(lib, [K, C, 3, 3], seed + 1, 0.3));
    const options = { padding, upsample };
    if (epilogue) {
      options.channelBias = input(lib, [N, K], seed + 3);
      options.residual = input(lib, [N, K, OH, OW], seed + 4);
    }
    try {
      return lib.ops.conv2dWinograd(input(lib, [N, C, H, W], seed), w, input(lib, [K], seed + 2), options);
    } finally {
      w.dispose();
    }
  },
}));

const winogradUNet = {
  name: "U-Net [16, 32] with attention and class labels, inference pass with convolutions 'winograd' (batch 2, 8x8)",
  needs: ['UNet2DModel', 'conv2dWinograd'],
  run: (lib) => {
    const model = new lib.UNet2DModel({
      sampleSize: 8, inChannels: 3, blockOutChannels: [16, 32], layersPerBlock: 1, normNumGroups: 8,
      attentionResolutions: [4], numHeads: 2, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift',
    }, 31);
    try {
      return lib.tidy(() => model.forward(input(lib, [2, 3, 8, 8], 960, 1.5), Int32Array.from([40, 700]), Int32Array.from([2, 0]),
        { mode: 'inference', convolutions: 'winograd' }).toFloat32Array());
    } finally {
      disposeModel(model);
    }
  },
};

export const inferenceScenarios = [...convScenarios, ...normScenarios, ...attentionScenarios, ...winogradScenarios, winogradUNet];
