/**
 * Scenarios of PyTorch's CPU noise (ops.torchRandn, ops.TorchGenerator): both of ATen's kernels (its float32 log,
 * sin and cos are emulated in WebAssembly, with fused multiply-adds computed exactly), a 63-bit seed, a draw
 * that crosses MT19937's twists with a tail block, and the float64 path of small tensors with its cached value.
 */
export const torchNoiseScenarios = [
  {
    name: 'torchRandn [2, 3, 16, 16] seed 0 (avx2)',
    needs: ['torchRandn'],
    run: (lib) => lib.ops.torchRandn([2, 3, 16, 16], { seed: 0 }),
  },
  {
    name: 'torchRandn [4, 3, 8, 8] seed 2^63 - 25 (default kernel)',
    needs: ['torchRandn'],
    run: (lib) => lib.ops.torchRandn([4, 3, 8, 8], { seed: 2n ** 63n - 25n, capability: 'default' }),
  },
  {
    name: 'torchRandn 1000 seed 1, both kernels',
    needs: ['torchRandn'],
    run: (lib) => ({
      avx2: lib.ops.torchRandn([1000], { seed: 1 }),
      default: lib.ops.torchRandn([1000], { seed: 1, capability: 'default' }),
    }),
  },
  {
    name: 'TorchGenerator seed 42: randn 3, 20, 5, 1',
    needs: ['TorchGenerator'],
    run: (lib) => {
      const generator = new lib.ops.TorchGenerator(42);
      return { a: generator.randn([3]), b: generator.randn([20]), c: generator.randn([5]), d: generator.randn([1]) };
    },
  },
];
