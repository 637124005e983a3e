/**
 * Scenarios of the element-wise ops and reductions: SiLU, arithmetic, sums and losses, channel bias, pooling,
 * upsampling, concatenation, timestep embeddings. Sizes are odd (SIMD remainders); values include the
 * extremes where exp-based functions saturate.
 */
import { floats, input, integers, scalar } from './inputs.js';

/** Large magnitudes and special values where SiLU's exp saturates or underflows. */
function siluInput(lib) {
  const special = [0, -0, 1e-30, -1e-30, 88, -88, 100, -100, 20, -20, 1e-7];
  const values = Float32Array.from([...special, ...floats(30, 1400, 12)]);
  return lib.Tensor.from(values, [values.length]);
}

export const elementwiseScenarios = [
  {
    name: 'silu 41 values incl. ±0, ±88, ±100',
    needs: ['silu'],
    run: (lib) => lib.ops.silu(siluInput(lib)),
  },
  {
    name: 'siluBackward 41 values incl. ±0, ±88, ±100',
    needs: ['siluBackward'],
    run: (lib) => lib.ops.siluBackward(input(lib, [41], 1401), siluInput(lib)),
  },
  {
    name: 'add sub mul scale addInPlace fill 2x3x7',
    needs: ['add', 'sub', 'mul', 'scale', 'addInPlace', 'fill'],
    run: (lib) => {
      const a = input(lib, [2, 3, 7], 1500), b = input(lib, [2, 3, 7], 1501, 3);
      const y = input(lib, [2, 3, 7], 1502);
      return {
        add: lib.ops.add(a, b), sub: lib.ops.sub(a, b), mul: lib.ops.mul(a, b), scale: lib.ops.scale(a, 0.3),
        addInPlace: lib.ops.addInPlace(y, b, -1.7), fill: lib.ops.fill(input(lib, [5], 1503), 0.1),
      };
    },
  },
  {
    name: 'sum sumOfSquares mseLoss countNonFinite 1031 values',
    needs: ['sum', 'sumOfSquares', 'mseLoss', 'countNonFinite'],
    run: (lib) => {
      const x = input(lib, [1031], 1600, 5), target = input(lib, [1031], 1601, 5);
      return scalar(lib.ops.sum(x), lib.ops.sumOfSquares(x), lib.ops.mseLoss(x, target), lib.ops.countNonFinite(x));
    },
  },
  {
    name: 'mseLossBackward 3x23 scale 0.5',
    needs: ['mseLossBackward'],
    run: (lib) => lib.ops.mseLossBackward(input(lib, [3, 23], 1700), input(lib, [3, 23], 1701), 0.5),
  },
  {
    name: 'softmaxCrossEntropy + backward 6x11',
    needs: ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward'],
    run: (lib) => {
      const labels = integers(6, 1800, 11);
      const { loss, probs } = lib.ops.softmaxCrossEntropy(input(lib, [6, 11], 1801, 8), labels);
      return { loss: scalar(loss), probs, dlogits: lib.ops.softmaxCrossEntropyBackward(probs, labels, 0.5) };
    },
  },
  {
    name: 'addChannelBias + channelBiasBackward 2x3x5x5',
    needs: ['addChannelBias', 'channelBiasBackward'],
    run: (lib) => ({
      y: lib.ops.addChannelBias(input(lib, [2, 3, 5, 5], 1900), input(lib, [2, 3], 1901)),
      dbias: lib.ops.channelBiasBackward(input(lib, [2, 3, 5, 5], 1902)),
    }),
  },
  {
    name: 'globalAvgPool + backward 2x3x5x7',
    needs: ['globalAvgPool', 'globalAvgPoolBackward'],
    run: (lib) => ({
      y: lib.ops.globalAvgPool(input(lib, [2, 3, 5, 7], 2000)),
      dx: lib.ops.globalAvgPoolBackward(input(lib, [2, 3], 2001), [2, 3, 5, 7]),
    }),
  },
  {
    name: 'upsampleNearest2x + backward 1x3x3x5',
    needs: ['upsampleNearest2x', 'upsampleNearest2xBackward'],
    run: (lib) => ({
      y: lib.ops.upsampleNearest2x(input(lib, [1, 3, 3, 5], 2100)),
      dx: lib.ops.upsampleNearest2xBackward(input(lib, [1, 3, 6, 10], 2101)),
    }),
  },
  {
    name: 'concatChannels + backward 2x(3+2)x2x3',
    needs: ['concatChannels', 'concatChannelsBackward'],
    run: (lib) => ({
      y: lib.ops.concatChannels(input(lib, [2, 3, 2, 3], 2200), input(lib, [2, 2, 2, 3], 2201)),
      ...lib.ops.concatChannelsBackward(input(lib, [2, 5, 2, 3], 2202), 3),
    }),
  },
  {
    name: 'timestepEmbedding 5 timesteps dim 32',
    needs: ['timestepEmbedding'],
    run: (lib) => lib.ops.timestepEmbedding(Float32Array.from([0, 1, 17, 250.5, 999]), 32),
  },
  {
    name: 'timestepEmbedding dim 33 sin first shift 1 maxPeriod 500',
    needs: ['timestepEmbedding'],
    run: (lib) => lib.ops.timestepEmbedding(Float32Array.from([0, 3, 0.25, 998]), 33,
      { flipSinToCos: false, downscaleFreqShift: 1, maxPeriod: 500 }),
  },
];
