/**
 * Reference for PyTorch's CPU noise (assembly/torch-random.ts), in plain TypeScript: MT19937 as Matsumoto and
 * Nishimura's mt19937ar.c (init_genrand, the recurrence, the tempering), PyTorch's uniforms from its words, and
 * Box-Muller in float64 with JavaScript's Math on those uniforms. The kernel computes Box-Muller in float32 as
 * PyTorch does, so it is within a few float32 ulps of this, not equal.
 */
export class MT19937Ref {
  private mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  next(): number {
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (this.mt[k] & 0x80000000) | (this.mt[(k + 1) % 624] & 0x7fffffff);
        this.mt[k] = this.mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** torch.randn(n) from a fresh generator, in float64: the same uniforms as PyTorch, exact Box-Muller. */
export function torchRandnRef(seed: number, n: number): Float64Array {
  const mt = new MT19937Ref(seed);
  const out = new Float64Array(n);
  if (n < 16) {
    const u53 = () => (Number(BigInt(mt.next()) << 32n | BigInt(mt.next())) % 2 ** 53) / 2 ** 53;
    for (let i = 0; i < n; i += 2) {
      const u1 = u53(), u2 = u53();
      const r = Math.sqrt(-2 * Math.log(1 - u2)), theta = 2 * Math.PI * u1;
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = (mt.next() & 0xffffff) / 2 ** 24;
  const block = (at: number) => {
    for (let j = 0; j < 8; j++) {
      const r = Math.sqrt(-2 * Math.log(1 - u[at + j])), theta = 2 * Math.PI * u[at + j + 8];
      out[at + j] = r * Math.cos(theta);
      out[at + j + 8] = r * Math.sin(theta);
    }
  };
  for (let i = 0; i + 16 <= n; i += 16) block(i);
  if (n % 16 !== 0) {
    for (let i = n - 16; i < n; i++) u[i] = (mt.next() & 0xffffff) / 2 ** 24;
    block(n - 16);
  }
  return out;
}
