/**
 * PyTorch's CPU noise: `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` in float32, the same
 * numbers bit for bit (assembly/torch-random.ts; docs/torch-noise.md states the measured agreement). This lets a
 * user re-run a diffusers sampling run that drew its noise from a CPU generator (`generator=torch.manual_seed(s)`,
 * which diffusers also uses for runs on a GPU) and get its starting noise.
 *
 * `torchRandn` draws from a freshly seeded generator; a `TorchGenerator` keeps its state between draws, as a
 * `torch.Generator` does (diffusers draws the initial latents and then, for DDIM with eta > 0 or DDPM, each
 * step's noise from the same generator). Neither uses the counter-based streams of ops/random.ts.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, checkShape, type Shape } from '../tensor.ts';
import { tensorArg } from './check.ts';

/**
 * Which of ATen's CPU kernels for normal_ to reproduce; they differ in the last bits of about 4 in 10 values
 * (their float32 log, cos and sin differ):
 * - 'avx2' (the default): PyTorch on x86-64 with AVX2, which is every x86-64 CPU since 2013 (AVX-512 CPUs too:
 *   ATen never dispatches normal_ to AVX-512). Matches the PyTorch that Linux x86-64 users install, built by GCC
 *   (measured bit-exact against Debian's 1.13; see docs/torch-noise.md for Windows and macOS on Intel).
 * - 'default': ATen's portable kernel, which PyTorch runs on arm64 (Apple silicon, AWS Graviton) and on x86-64
 *   with ATEN_CPU_CAPABILITY=default; its log, cos and sin are the C library's (here: glibc's).
 * Tensors of fewer than 16 elements go element by element in float64 in both, with the same result.
 */
export type TorchCpuCapability = 'avx2' | 'default';

/** A PyTorch seed: an integer in [-2^63, 2^64), as `torch.manual_seed` accepts; a number must be a safe integer. */
export type TorchSeed = number | bigint;

export interface TorchRandnOptions {
  /** Required: the seed of `torch.manual_seed` / `torch.Generator().manual_seed` (only its low 32 bits matter). */
  seed: TorchSeed;
  /** The CPU kernel to reproduce; default 'avx2'. */
  capability?: TorchCpuCapability;
}

const CAPABILITIES: readonly TorchCpuCapability[] = ['avx2', 'default'];
const OPTION_NAMES = ['seed', 'capability'];

/**
 * `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` (float32, CPU): a new tensor. Equivalent to
 * `new TorchGenerator(seed, { capability }).randn(shape)`.
 */
export function torchRandn(shape: Shape, options: TorchRandnOptions): Tensor {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`torchRandn: options must be an object { seed, capability? }, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new Error(`torchRandn: unknown option '${key}' (allowed: ${OPTION_NAMES.join(', ')})`);
  }
  checkShape(shape, 'torchRandn');
  seedLow32('torchRandn', options.seed);
  checkCapability('torchRandn', options.capability ?? 'avx2');
  return new TorchGenerator(options.seed, { capability: options.capability }).randn(shape);
}

/**
 * A PyTorch CPU generator (`torch.Generator()`): MT19937 state plus the cached second normal of the small-tensor
 * path, advancing with every draw exactly as PyTorch's does. Its state lives in JavaScript (2.5 KB) and is copied
 * into WebAssembly memory for each draw, so there is nothing to dispose.
 */
export class TorchGenerator {
  /** The kernel whose numbers `randn` reproduces. */
  readonly capability: TorchCpuCapability;
  private state: Uint8Array;

  /** A generator seeded with `seed` (`torch.Generator().manual_seed(seed)`); `capability` defaults to 'avx2'. */
  constructor(seed: TorchSeed, options: { capability?: TorchCpuCapability } = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new Error(`TorchGenerator: options must be an object { capability? }, got ${show(options)}`);
    }
    const low32 = seedLow32('TorchGenerator', seed);
    this.capability = checkCapability('TorchGenerator', options.capability ?? 'avx2');
    this.state = new Uint8Array(wasm().torchGeneratorBytes());
    this.withState((gen) => wasm().torchGeneratorSeed(gen, low32));
  }

  /** Re-seeds in place (`generator.manual_seed(seed)`): a fresh MT19937 state and no cached normal. Returns this. */
  manualSeed(seed: TorchSeed): this {
    const low32 = seedLow32('TorchGenerator.manualSeed', seed);
    this.withState((gen) => wasm().torchGeneratorSeed(gen, low32));
    return this;
  }

  /** `torch.randn(shape, generator=this)` in float32: a new tensor; the generator advances. */
  randn(shape: Shape): Tensor {
    const out = new Tensor(checkShape(shape, 'TorchGenerator.randn'));
    try {
      return this.randnInto(out);
    } catch (error) {
      out.dispose();
      throw error;
    }
  }

  /** Fills `tensor` in place as `randn` of its shape would (`tensor.normal_(generator=this)`); returns it. */
  randnInto(tensor: Tensor): Tensor {
    tensorArg('TorchGenerator.randnInto', 'tensor', tensor);
    const capability = this.capability === 'avx2' ? 0 : 1;
    this.withState((gen) => wasm().torchRandnFill(tensor.ptr, tensor.size, gen, capability));
    return tensor;
  }

  /** Runs `fn` on a copy of the state in WebAssembly memory, then keeps the advanced state. */
  private withState(fn: (gen: number) => void): void {
    const scratch = new Tensor([Math.ceil(this.state.length / 4)]);
    try {
      new Uint8Array(wasm().memory.buffer, scratch.ptr, this.state.length).set(this.state);
      fn(scratch.ptr);
      this.state = new Uint8Array(wasm().memory.buffer, scratch.ptr, this.state.length).slice();
    } finally {
      scratch.dispose();
    }
  }
}

function checkCapability(op: string, value: unknown): TorchCpuCapability {
  if (!CAPABILITIES.includes(value as TorchCpuCapability)) {
    throw new Error(`${op}: capability must be one of ${CAPABILITIES.map((c) => `'${c}'`).join(', ')}, got ${show(value)}`);
  }
  return value as TorchCpuCapability;
}

/**
 * The low 32 bits of a PyTorch seed (mt19937's init_genrand takes `seed & 0xffffffff`; a negative seed s is
 * taken as s + 2^64, which has the same low bits). Integer arithmetic only.
 */
function seedLow32(op: string, seed: unknown): number {
  if (typeof seed === 'bigint') {
    if (seed < -(2n ** 63n) || seed >= 2n ** 64n) {
      throw new Error(`${op}: seed must be an integer in [-2^63, 2^64) as torch.manual_seed accepts, got ${seed}n`);
    }
    return Number(BigInt.asUintN(32, seed));
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new Error(`${op}: seed must be a safe integer or a bigint in [-2^63, 2^64), got ${show(seed)}`);
  }
  return ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
