/**
 * Scenarios of the layer kernels, forward and backward: matmul, linear, conv2d, groupNorm, attention and
 * transpose12. Shapes are small and awkward (odd sizes, primes, off the SIMD tile, across blocking boundaries).
 */
import { input, inputBetween } from './inputs.js';

const matmuls = [
  [1, 1, 1, false, false],
  [7, 13, 5, false, false],
  [5, 300, 9, false, false],  // K crosses the kernel's KC = 256 block
  [9, 17, 11, true, false],
  [6, 33, 10, false, true],
  [4, 259, 3, true, true],
].map(([M, K, N, ta, tb]) => ({
  name: `matmul ${M}x${K}x${N}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`,
  needs: ['matmul'],
  run: (lib) => lib.ops.matmul(
    input(lib, ta ? [K, M] : [M, K], 11 * M + K), input(lib, tb ? [N, K] : [K, N], 13 * N + K, 0.5),
    { transposeA: ta, transposeB: tb },
  ),
}));

const convolutions = [
  // [N, C, H, W, K, R, S, stride, padding, bias]
  [2, 3, 9, 7, 5, 3, 3, 1, 1, true],
  [1, 4, 8, 8, 6, 3, 3, 2, 1, false],
  [2, 5, 6, 6, 3, 1, 1, 1, 0, true],  // 1x1: no im2col
  [1, 2, 7, 5, 3, 4, 2, 1, 2, true],  // even, non-square kernel, padding 2
];

const convName = ([N, C, H, W, K, R, S, stride, padding, bias]) =>
  `${N}x${C}x${H}x${W} k${K} ${R}x${S} stride ${stride} pad ${padding}${bias ? ' +bias' : ''}`;

function convInputs(lib, [N, C, H, W, K, R, S, , , bias], seed) {
  return {
    x: input(lib, [N, C, H, W], seed),
    w: input(lib, [K, C, R, S], seed + 1, 0.3),
    b: bias ? input(lib, [K], seed + 2) : null,
  };
}

const convForwards = convolutions.map((c, i) => ({
  name: `conv2d ${convName(c)}`,
  needs: ['conv2d'],
  run: (lib) => {
    const { x, w, b } = convInputs(lib, c, 100 + 10 * i);
    return lib.ops.conv2d(x, w, b, { stride: c[7], padding: c[8] });
  },
}));

const convBackwards = convolutions.map((c, i) => ({
  name: `conv2dBackward ${convName(c)}`,
  needs: ['conv2d', 'conv2dBackward'],
  run: (lib) => {
    const { x, w, b } = convInputs(lib, c, 200 + 10 * i);
    const options = { stride: c[7], padding: c[8] };
    const y = lib.ops.conv2d(x, w, b, options);
    return lib.ops.conv2dBackward(input(lib, y.shape, 300 + i), x, w, options);
  },
}));

function groupNormInputs(lib, [N, C, H, W], seed, modulated) {
  return {
    x: input(lib, [N, C, H, W], seed, 3),
    gamma: inputBetween(lib, [C], seed + 1, 0.5, 1.5),
    beta: input(lib, [C], seed + 2),
    modulation: modulated ? { scale: input(lib, [N, C], seed + 3, 0.5), shift: input(lib, [N, C], seed + 4) } : {},
  };
}

const groupNorms = [
  // [shape, groups, eps, modulated]
  [[2, 6, 5, 3], 3, 1e-5, false],
  [[1, 5, 7, 1], 5, 1e-6, false],
  [[2, 8, 4, 4], 4, 1e-5, true],
  [[3, 4, 3, 5], 1, 1e-5, true],
];

const gnName = ([shape, groups, eps, modulated]) =>
  `${shape.join('x')} groups ${groups} eps ${eps}${modulated ? ' scale/shift' : ''}`;

const groupNormScenarios = groupNorms.flatMap((g, i) => [
  {
    name: `groupNorm ${gnName(g)}`,
    needs: ['groupNorm'],
    run: (lib) => {
      const { x, gamma, beta, modulation } = groupNormInputs(lib, g[0], 400 + 10 * i, g[3]);
      return lib.ops.groupNorm(x, g[1], gamma, beta, g[2], modulation);
    },
  },
  {
    name: `groupNormBackward ${gnName(g)}`,
    needs: ['groupNormBackward'],
    run: (lib) => {
      const { x, gamma, beta, modulation } = groupNormInputs(lib, g[0], 500 + 10 * i, g[3]);
      const options = g[3] ? { ...modulation, beta } : {};
      return lib.ops.groupNormBackward(input(lib, g[0], 600 + i), x, g[1], gamma, g[2], options);
    },
  },
]);

const statistics = {
  name: 'groupNormForward + groupNormBackwardWithStatistics 2x8x4x4 groups 4 scale/shift',
  needs: ['groupNormForward', 'groupNormBackwardWithStatistics'],
  run: (lib) => {
    const { x, gamma, beta, modulation } = groupNormInputs(lib, [2, 8, 4, 4], 700, true);
    const { y, mean, rstd } = lib.ops.groupNormForward(x, 4, gamma, beta, 1e-5, modulation);
    const grads = lib.ops.groupNormBackwardWithStatistics(input(lib, [2, 8, 4, 4], 701), x, mean, rstd, gamma,
      { ...modulation, beta });
    return { y, mean, rstd, ...grads };
  },
};

const attentions = [
  // [B, heads, T, D]
  [2, 2, 7, 5],
  [1, 1, 33, 16],
  [1, 3, 9, 8],
];

function qkv(lib, shape, seed) {
  return { q: input(lib, shape, seed, 2), k: input(lib, shape, seed + 1, 2), v: input(lib, shape, seed + 2) };
}

const attentionScenarios = attentions.flatMap((shape, i) => [
  {
    name: `attention ${shape.join('x')}`,
    needs: ['attention'],
    run: (lib) => {
      const { q, k, v } = qkv(lib, shape, 800 + 10 * i);
      return lib.ops.attention(q, k, v);
    },
  },
  {
    name: `attentionBackward ${shape.join('x')}`,
    needs: ['attentionBackward'],
    run: (lib) => {
      const { q, k, v } = qkv(lib, shape, 900 + 10 * i);
      return lib.ops.attentionBackward(input(lib, shape, 950 + i), q, k, v);
    },
  },
]);

const attentionWithProbs = {
  name: 'attentionForward + attentionBackwardWithProbs 2x1x6x4',
  needs: ['attentionForward', 'attentionBackwardWithProbs'],
  run: (lib) => {
    const { q, k, v } = qkv(lib, [2, 1, 6, 4], 990);
    const { o, probs } = lib.ops.attentionForward(q, k, v);
    return { o, probs, ...lib.ops.attentionBackwardWithProbs(input(lib, [2, 1, 6, 4], 991), q, k, v, probs) };
  },
};

const linears = [
  // [x shape, OUT, bias]
  [[5, 13], 7, true],
  [[2, 3, 33], 9, false],
  [[1, 64], 17, true],
];

const linearScenarios = linears.flatMap(([xShape, OUT, bias], i) => {
  const name = `${xShape.join('x')} -> ${OUT}${bias ? ' +bias' : ''}`;
  const inputs = (lib, seed) => ({
    x: input(lib, xShape, seed), w: input(lib, [OUT, xShape[xShape.length - 1]], seed + 1, 0.4),
    b: bias ? input(lib, [OUT], seed + 2) : null,
  });
  return [
    { name: `linear ${name}`, needs: ['linear'], run: (lib) => { const { x, w, b } = inputs(lib, 1000 + 10 * i); return lib.ops.linear(x, w, b); } },
    {
      name: `linearBackward ${name}`,
      needs: ['linearBackward'],
      run: (lib) => {
        const { x, w } = inputs(lib, 1100 + 10 * i);
        return lib.ops.linearBackward(input(lib, [...xShape.slice(0, -1), OUT], 1150 + i), x, w, bias ? {} : { db: null });
      },
    },
  ];
});

const accumulate = {
  name: 'linearBackward 4x6 -> 3 adds into given gradients',
  needs: ['linearBackward'],
  run: (lib) => {
    const x = input(lib, [4, 6], 1200), w = input(lib, [3, 6], 1201), dy = input(lib, [4, 3], 1202);
    const into = { dx: input(lib, [4, 6], 1203), dw: input(lib, [3, 6], 1204), db: input(lib, [3], 1205) };
    lib.ops.linearBackward(dy, x, w, into);
    return lib.ops.linearBackward(dy, x, w, into);
  },
};

export const layerScenarios = [
  ...matmuls,
  {
    name: 'batchMatmul 3x5x7x4 Bᵀ',
    needs: ['batchMatmul'],
    run: (lib) => lib.ops.batchMatmul(input(lib, [3, 5, 7], 1), input(lib, [3, 4, 7], 2), { transposeB: true }),
  },
  {
    name: 'matmulBackward 6x19x7',
    needs: ['matmulBackward'],
    run: (lib) => lib.ops.matmulBackward(input(lib, [6, 7], 3), input(lib, [6, 19], 4), input(lib, [19, 7], 5)),
  },
  ...linearScenarios,
  accumulate,
  ...convForwards,
  ...convBackwards,
  ...groupNormScenarios,
  statistics,
  ...attentionScenarios,
  attentionWithProbs,
  {
    name: 'transpose12 2x3x4x5 and 3x5x2',
    needs: ['transpose12'],
    run: (lib) => ({ rank4: lib.ops.transpose12(input(lib, [2, 3, 4, 5], 1300)), rank3: lib.ops.transpose12(input(lib, [3, 5, 2], 1301)) }),
  },
];
