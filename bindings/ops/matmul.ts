/**
 * Matrix products (assembly/matmul.ts): `matmul` for [M,K]·[K,N], `batchMatmul` for [B,M,K]·[B,K,N], and the
 * backward of a product. Transposes are free: they only change how the kernel packs its operands.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, tensorArg } from './check.ts';
import { booleanOption, optionsArg } from './options.ts';
import { resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

/** Flags of the `matmul` kernels: how to read A and B, and whether to add into C instead of overwriting it. */
export const MatmulFlags = { transposeA: 1, transposeB: 2, accumulate: 4 } as const;

export interface MatmulOptions {
  /** Use Aᵀ: `a` is then [K, M]. Default false. */
  transposeA?: boolean;
  /** Use Bᵀ: `b` is then [N, K]. Default false. */
  transposeB?: boolean;
}

/** C = A·B for A [M, K] and B [K, N] (or their transposes, see options). */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { M, K, N, flags } = productShape('matmul', a, b, 2, options);
  const c = new Tensor([M, N]);
  wasm().matmul(a.ptr, b.ptr, c.ptr, M, K, N, flags);
  return c;
}

/** C[i] = A[i]·B[i] for A [B, M, K] and B [B, K, N] (or their transposes, see options). */
export function batchMatmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { batch, M, K, N, flags } = productShape('batchMatmul', a, b, 3, options);
  const c = new Tensor([batch, M, N]);
  wasm().batchMatmul(a.ptr, b.ptr, c.ptr, batch, M, K, N, flags);
  return c;
}

/**
 * Gradients of C = A·B (no transposes): dA = dC·Bᵀ, dB = Aᵀ·dC. `into` follows the backward ops' convention
 * (ops/gradients.ts): da [M, K] like a, db [K, N] like b.
 */
export function matmulBackward<I extends GradientTargets<'da' | 'db'> = {}>(dc: Tensor, a: Tensor, b: Tensor, into?: I):
  Gradients<I, 'da' | 'db'> {
  const op = 'matmulBackward';
  const { M, K, N } = productShape(op, a, b, 2, {});
  const dcShape = tensorArg(op, 'dc', dc, 2);
  if (dcShape[0] !== M || dcShape[1] !== N) {
    throw new Error(`${op}: dc must be [${M}, ${N}] for a ${fmt(a.shape)} and b ${fmt(b.shape)}, got ${fmt(dcShape)}`);
  }
  const { da, db } = resolveGradients(op, into, { da: a.shape, db: b.shape }, { distinctFrom: [dc, a, b] });
  const { transposeA, transposeB, accumulate } = MatmulFlags;
  if (da !== null) wasm().matmul(dc.ptr, b.ptr, da.ptr, M, N, K, transposeB | accumulate);
  if (db !== null) wasm().matmul(a.ptr, dc.ptr, db.ptr, K, M, N, transposeA | accumulate);
  return { da, db } as Gradients<I, 'da' | 'db'>;
}

function productShape(op: string, a: Tensor, b: Tensor, rank: number, options: MatmulOptions) {
  const legend = rank === 2 ? '[rows, cols]' : '[batch, rows, cols]';
  const as = tensorArg(op, 'a', a, rank, legend);
  const bs = tensorArg(op, 'b', b, rank, legend);
  const batch = rank === 3 ? as[0] : 1;
  if (rank === 3 && bs[0] !== batch) throw new Error(`${op}: a and b must have the same batch size: a ${fmt(as)}, b ${fmt(bs)}`);
  const [ar, ac] = as.slice(rank - 2), [br, bc] = bs.slice(rank - 2);
  const checked = optionsArg(op, options, ['transposeA', 'transposeB']);
  const transposeA = booleanOption(op, 'transposeA', checked.transposeA, false);
  const transposeB = booleanOption(op, 'transposeB', checked.transposeB, false);
  const [M, K] = transposeA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transposeB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    throw new Error(`${op}: inner dimensions differ: a ${fmt(as)}${transposeA ? 'ᵀ' : ''} has ${K} columns, ` +
      `b ${fmt(bs)}${transposeB ? 'ᵀ' : ''} has ${Kb} rows`);
  }
  const flags = (transposeA ? MatmulFlags.transposeA : 0) | (transposeB ? MatmulFlags.transposeB : 0);
  return { batch, M, K, N, flags };
}
