/**
 * Scenarios of the inference kernels (issue 13): conv2dPacked with its epilogue (bias, channel bias, residual),
 * in both of its layouts (K > 4: channel strips; K <= 4: pixel vectors) and with padding, strides and
 * upsampling; groupNormSilu with its padded output; attentionChannels. They round as the training kernels do
 * (the unit tests pin that); here every runtime must give the same bits.
 */
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

export const inferenceScenarios = [...convScenarios, ...normScenarios, ...attentionScenarios];
