/**
 * Where a sampling run's noise comes from.
 *
 * - 'philox' (the default): the library's counter-based generator. x_T is randn of (seed, STREAMS.initialNoise),
 *   item n at numbers n*M .. n*M + M - 1, and each step's noise is drawn by the scheduler at (seed, its block): a
 *   sample depends on its seed and its index alone, not on the batch size, in every runtime.
 * - 'torch': PyTorch's CPU generator (ops.TorchGenerator, bit-exact with torch.randn), drawn as diffusers'
 *   pipelines draw it, to replay a diffusers run seeded with `generator=torch.manual_seed(seed)`: one randn of the
 *   whole batch for x_T, then one randn of the sample's shape at every step where diffusers' scheduler draws
 *   (`drawsNoise`). With `seeds`, one generator per image (diffusers' list of generators), each drawing [1, ...].
 *   As in diffusers, an image then depends on the batch size. Its generator (ops/torch-random.ts) is imported
 *   only when a run asks for it, so a sampler bundled without it (and Node, which then never loads it) does not
 *   carry PyTorch's Mersenne Twister.
 */
import { randn } from '../ops/random.ts';
import type { TorchCpuCapability, TorchSeed } from '../ops/torch-random.ts';
import { STREAMS } from '../random-streams.ts';
import { Tensor } from '../tensor.ts';

export type NoiseGenerator = 'philox' | 'torch';

export interface NoiseSource {
  /** x_T for a batch of `shape` (before the scheduler's initNoiseSigma). */
  initial(shape: readonly number[]): Tensor;
  /** The noise to hand to the scheduler's step (undefined: the scheduler draws its own from the seed). */
  step(shape: readonly number[], draws: boolean): Tensor | undefined;
}

/**
 * The library's own noise: x_T from the seed, from the numbers of sample `firstSample` on (a batch of a larger
 * run); the schedulers address each step's noise themselves (NoiseScheduler.firstSample).
 */
export function philoxNoise(seed: number, firstSample = 0): NoiseSource {
  return {
    initial: (shape) => randn(shape, { seed, stream: STREAMS.initialNoise, offset: firstSample * (shape.slice(1).reduce((a, b) => a * b, 1)) }),
    step: () => undefined,
  };
}

/** PyTorch's noise, drawn as diffusers draws it: one generator for the batch, or one per image (`seeds`). */
export async function torchNoise(seeds: TorchSeed | readonly TorchSeed[], capability: TorchCpuCapability): Promise<NoiseSource> {
  const { TorchGenerator } = await import('../ops/torch-random.ts');
  const generators = (Array.isArray(seeds) ? seeds : [seeds]).map((seed) => new TorchGenerator(seed, { capability }));
  const draw = (shape: readonly number[]): Tensor => {
    if (generators.length === 1) return generators[0].randn(shape);
    // One [1, ...] draw per image, back to back (diffusers' randn_tensor with a list of generators).
    const out = new Tensor(shape);
    const per = out.size / shape[0];
    generators.forEach((generator, n) => generator.randnInto(out.subview(n * per, [1, ...shape.slice(1)])));
    return out;
  };
  return { initial: draw, step: (shape, draws) => (draws ? draw(shape) : undefined) };
}
