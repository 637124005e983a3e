/**
 * Scenarios of the random streams and the in-place updates: randn at several (seed, offset, stream) addresses,
 * including odd offsets (half of a Box-Muller pair) and offsets past 2^32 and near 2^53; uniform numbers,
 * integers, dropout; AdamW steps and the weight EMA; the schedulers' element-wise kernels.
 */
import { input, inputBetween } from './inputs.js';

const randnAddresses = [
  // [seed, offset, stream]
  [0, 0, 0],
  [42, 0, 0],
  [42, 1, 0],
  [42, 7, 0],
  [42, 0, 3],
  [7, 2 ** 32 + 3, 0],
  [123456789, 2 ** 40 + 5, 1],
  [2 ** 53 - 1, 2 ** 53 - 1 - 1024, 4294967295],
];

const randnScenarios = randnAddresses.map(([seed, offset, stream]) => ({
  name: `randn 37 seed ${seed} offset ${offset} stream ${stream}`,
  needs: ['randn'],
  run: (lib) => lib.ops.randn([37], { seed, offset, stream }),
}));

export const randomScenarios = [
  ...randnScenarios,
  {
    name: 'randn [3, 5, 7] seed 1 (shape-independent stream)',
    needs: ['randn'],
    run: (lib) => lib.ops.randn([3, 5, 7], { seed: 1 }),
  },
  {
    name: 'randUniform 37 seed 5 offset 3 stream 1',
    needs: ['randUniform'],
    run: (lib) => lib.ops.randUniform([37], { seed: 5, offset: 3, stream: 1 }),
  },
  {
    name: 'randInt 37 in [0, 1000) and [0, 2^31)',
    needs: ['randInt'],
    run: (lib) => ({
      small: lib.ops.randInt(37, 1000, { seed: 9, offset: 11, stream: 2 }),
      large: lib.ops.randInt(37, 2 ** 31, { seed: 9, offset: 2 ** 35 + 1 }),
    }),
  },
  {
    name: 'dropout + backward 67 p 0.3',
    needs: ['dropout', 'dropoutBackward'],
    run: (lib) => {
      const { y, mask } = lib.ops.dropout(input(lib, [67], 2300), { p: 0.3, seed: 17, offset: 5, stream: 6 });
      return { y, mask, dx: lib.ops.dropoutBackward(input(lib, [67], 2301), mask) };
    },
  },
  {
    name: 'adamwStep 3 steps on 103 parameters',
    needs: ['adamwStep'],
    run: (lib) => {
      const param = input(lib, [103], 2400), m = lib.Tensor.zeros([103]), v = lib.Tensor.zeros([103]);
      for (let step = 1; step <= 3; step++) {
        lib.ops.adamwStep(param, input(lib, [103], 2400 + step, 0.1), m, v, { lr: 1e-3, weightDecay: 0.01, step });
      }
      return { param, m, v };
    },
  },
  {
    name: 'adamwStep step 1000 custom betas, no decay',
    needs: ['adamwStep'],
    run: (lib) => {
      const param = input(lib, [29], 2500), m = input(lib, [29], 2501, 0.01), v = inputBetween(lib, [29], 2502, 0, 1e-4);
      lib.ops.adamwStep(param, input(lib, [29], 2503, 0.1), m, v,
        { lr: 2e-4, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0, step: 1000 });
      return { param, m, v };
    },
  },
  {
    name: 'emaUpdate 103 decay 0.999 then 0.9',
    needs: ['emaUpdate'],
    run: (lib) => {
      const ema = input(lib, [103], 2600);
      lib.ops.emaUpdate(ema, input(lib, [103], 2601), 0.999);
      lib.ops.emaUpdate(ema, input(lib, [103], 2602), 0.9);
      return ema;
    },
  },
  {
    name: 'schedulerAddNoise 3x17',
    needs: ['schedulerAddNoise'],
    run: (lib) => lib.ops.schedulerAddNoise(input(lib, [3, 17], 2700), input(lib, [3, 17], 2701),
      [0.9998, 0.5, 0.006], [0.02, 0.8660254037844386, 0.99998]),
  },
  {
    name: 'schedulerStep 3x17 with noise, clip 1',
    needs: ['schedulerStep'],
    run: (lib) => lib.ops.schedulerStep(input(lib, [3, 17], 2800, 2), input(lib, [3, 17], 2801),
      { a: 1.02, b: -0.2, c: 0.1, d: 0.9, e: -0.05, f: 0.3, g: 0.7, h: 0.01, sigma: 0.05, clipRange: 1 },
      input(lib, [3, 17], 2802)),
  },
];
