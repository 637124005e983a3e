/**
 * The 2-D toy distributions of the generative-modelling literature, generated from a seed with the counter-based
 * generator (so they are the same in every runtime). Arithmetic on the draws is plain float64 + - * / and sqrt,
 * which every engine computes exactly alike; cos and sin come from the wasm core.
 *
 * - gaussian8: the 8-mode ring of the normalizing-flow papers: a centre c drawn uniformly from the 8 unit vectors
 *   at angles k * 45°, x = (4c + 0.5z) / sqrt(2), z standard normal: modes of std 0.354 on a circle of radius 2.83.
 * - moons: two interleaving half circles (scikit-learn's make_moons, noise 0.05), scaled to roughly [-2, 2].
 * - swissroll: a 2-D swiss roll (scikit-learn's make_swiss_roll, x and z, noise 0.25), scaled by 1/5.
 */
import { cos, sin } from '../ops/math.ts';
import { randn, randUniform } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { tidy } from '../tensor.ts';
import { ArrayDataset } from './dataset.ts';

export type ToyName = 'gaussian8' | 'moons' | 'swissroll';
export const TOY_NAMES: readonly ToyName[] = ['gaussian8', 'moons', 'swissroll'];

/** The mode centres of gaussian8, before scaling: the 8 unit vectors at k * 45°, exact. */
export const GAUSSIAN8_CENTERS: readonly (readonly [number, number])[] = (() => {
  const h = Math.sqrt(0.5);
  return [[1, 0], [h, h], [0, 1], [-h, h], [-1, 0], [-h, -h], [0, -1], [h, -h]];
})();

/** Standard deviation of each gaussian8 mode: 0.5 / sqrt(2). */
export const GAUSSIAN8_STD = 0.5 / Math.sqrt(2);

/** `size` points of a toy distribution, from `seed`. */
export function toyDataset(name: ToyName, size = 20000, seed = 0): ArrayDataset {
  if (!TOY_NAMES.includes(name)) throw new Error(`toyDataset: unknown toy '${name}'; choose one of ${TOY_NAMES.join(', ')}`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`toyDataset: size must be a positive integer, got ${size}`);
  const { u, z } = tidy(() => ({
    u: randUniform([size], { seed, stream: STREAMS.toyChoice }).toFloat32Array(),
    z: randn([size, 2], { seed, stream: STREAMS.toyNoise }).toFloat32Array(),
  }));
  const points = new Float32Array(size * 2);
  const s2 = Math.sqrt(2);
  for (let i = 0; i < size; i++) {
    let x: number, y: number;
    if (name === 'gaussian8') {
      const [cx, cy] = GAUSSIAN8_CENTERS[Math.floor(u[i] * 8)];
      x = (4 * cx + 0.5 * z[2 * i]) / s2;
      y = (4 * cy + 0.5 * z[2 * i + 1]) / s2;
    } else if (name === 'moons') {
      // u picks the moon (below or above 0.5) and the angle along it.
      const upper = u[i] < 0.5;
      const theta = (upper ? u[i] * 2 : u[i] * 2 - 1) * Math.PI;
      const mx = upper ? cos(theta) : 1 - cos(theta);
      const my = upper ? sin(theta) : 0.5 - sin(theta);
      x = 2 * (mx + 0.05 * z[2 * i]) - 1;
      y = 2 * (my + 0.05 * z[2 * i + 1]) - 0.5;
    } else {
      const t = 1.5 * Math.PI * (1 + 2 * u[i]);
      x = (t * cos(t) + 0.25 * z[2 * i]) / 5;
      y = (t * sin(t) + 0.25 * z[2 * i + 1]) / 5;
    }
    points[2 * i] = x;
    points[2 * i + 1] = y;
  }
  return new ArrayDataset(name, points, [2]);
}
