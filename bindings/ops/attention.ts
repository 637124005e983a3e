/**
 * Scaled dot-product self-attention (assembly/attention.ts): for q, k, v of shape [B, heads, T, D],
 * O = softmax(q·kᵀ / sqrt(D))·v per batch item and head, the softmax taken along each row (key axis).
 *
 * Two ways to train through it:
 * - `attention` then `attentionBackward`: the backward recomputes the probabilities one head at a time, so
 *   nothing of size T² outlives a call (the choice for long sequences);
 * - `attentionForward` then `attentionBackwardWithProbs`: the forward returns the probabilities [B, heads, T, T]
 *   and the backward reuses them (faster; costs B·heads·T² floats of memory in between).
 * Both give the same bits.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, sameShape, tensorArg } from './check.ts';
import { gradientPtr, resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

/** The gradients of attention: a Tensor [B, heads, T, D] each (see ops/gradients.ts). */
type Names = 'dq' | 'dk' | 'dv';

const LEGEND = '[B, heads, T, D]';

/** O = softmax(q·kᵀ / sqrt(D))·v for q, k, v of shape [B, heads, T, D]; returns o [B, heads, T, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const dims = checkInputs('attention', q, k, v);
  const o = new Tensor(q.shape);
  forEachHead(dims, (offset, probs) => {
    wasm().attentionForward(o.ptr + offset, probs.ptr, q.ptr + offset, k.ptr + offset, v.ptr + offset, 1, dims.T, dims.D);
  });
  return o;
}

/**
 * Like `attention`, and also returns the probabilities softmax(q·kᵀ / sqrt(D)), probs [B, heads, T, T], for
 * `attentionBackwardWithProbs`. Probabilities under e^-69 (~1e-30) times the row's largest are exactly 0.
 */
export function attentionForward(q: Tensor, k: Tensor, v: Tensor): { o: Tensor; probs: Tensor } {
  const { B, heads, T, D } = checkInputs('attentionForward', q, k, v);
  const o = new Tensor(q.shape);
  const probs = new Tensor([B, heads, T, T]);
  wasm().attentionForward(o.ptr, probs.ptr, q.ptr, k.ptr, v.ptr, B * heads, T, D);
  return { o, probs };
}

/**
 * Gradients of `attention` wrt q, k and v, given dO = dL/do [B, heads, T, D]; recomputes the probabilities one
 * head at a time. `into` follows the backward ops' convention (ops/gradients.ts); skipping a gradient saves work,
 * and a target may not share storage with an input (the kernel reads them while it adds).
 */
export function attentionBackward<I extends GradientTargets<Names> = {}>(
  dO: Tensor, q: Tensor, k: Tensor, v: Tensor, into?: I,
): Gradients<I, Names> {
  const op = 'attentionBackward';
  const dims = checkInputs(op, q, k, v);
  sameShape(op, 'q', q.shape, 'dO', tensorArg(op, 'dO', dO, 4, LEGEND));
  const grads = resolveGradients(op, into, { dq: q.shape, dk: q.shape, dv: q.shape }, { distinctFrom: [dO, q, k, v] });
  const { T, D } = dims;
  const [dq, dk, dv] = [grads.dq, grads.dk, grads.dv].map(gradientPtr);
  if (dq === 0 && dk === 0 && dv === 0) return grads as Gradients<I, Names>;
  const work = new Tensor([T, T]);
  forEachHead(dims, (offset, probs) => {
    const at = (ptr: number) => (ptr === 0 ? 0 : ptr + offset);
    // o = 0: only the probabilities are needed.
    wasm().attentionForward(0, probs.ptr, q.ptr + offset, k.ptr + offset, v.ptr + offset, 1, T, D);
    wasm().attentionBackward(at(dq), at(dk), at(dv), dO.ptr + offset, q.ptr + offset, k.ptr + offset,
      v.ptr + offset, probs.ptr, work.ptr, 1, T, D);
  });
  work.dispose();
  return grads as Gradients<I, Names>;
}

/**
 * Gradients of `attentionForward` wrt q, k and v from the probabilities it returned, probs [B, heads, T, T],
 * and dO = dL/do [B, heads, T, D]. `into` as in `attentionBackward`.
 */
export function attentionBackwardWithProbs<I extends GradientTargets<Names> = {}>(
  dO: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, into?: I,
): Gradients<I, Names> {
  const op = 'attentionBackwardWithProbs';
  const { B, heads, T, D } = checkInputs(op, q, k, v);
  sameShape(op, 'q', q.shape, 'dO', tensorArg(op, 'dO', dO, 4, LEGEND));
  const probsShape = tensorArg(op, 'probs', probs, 4, '[B, heads, T, T]');
  if (probsShape.some((d, i) => d !== [B, heads, T, T][i])) {
    throw new Error(`${op}: probs must be [${B}, ${heads}, ${T}, ${T}] for q ${fmt(q.shape)}, got ${fmt(probsShape)}`);
  }
  const grads = resolveGradients(op, into, { dq: q.shape, dk: q.shape, dv: q.shape }, { distinctFrom: [dO, q, k, v, probs] });
  const [dq, dk, dv] = [grads.dq, grads.dk, grads.dv].map(gradientPtr);
  if (dq === 0 && dk === 0 && dv === 0) return grads as Gradients<I, Names>;
  const work = new Tensor([T, T]);
  wasm().attentionBackward(dq, dk, dv, dO.ptr, q.ptr, k.ptr, v.ptr, probs.ptr, work.ptr, B * heads, T, D);
  work.dispose();
  return grads as Gradients<I, Names>;
}

// ---------------------------------------------------------------------------------------------------------

interface Dims { B: number; heads: number; T: number; D: number }

/** Checks q, k, v: Tensors of rank 4, one shape, T >= 1 and D >= 1. */
function checkInputs(op: string, q: Tensor, k: Tensor, v: Tensor): Dims {
  const shape = tensorArg(op, 'q', q, 4, LEGEND);
  sameShape(op, 'q', shape, 'k', tensorArg(op, 'k', k, 4, LEGEND));
  sameShape(op, 'q', shape, 'v', tensorArg(op, 'v', v, 4, LEGEND));
  const [B, heads, T, D] = shape;
  if (T < 1 || D < 1) throw new Error(`${op}: q must have T >= 1 tokens and head size D >= 1 ${LEGEND}, got ${fmt(shape)}`);
  return { B, heads, T, D };
}

/** Calls `body` for every (batch item, head) with the byte offset of its [T, D] block and a [T, T] scratch. */
function forEachHead(dims: Dims, body: (offset: number, probs: Tensor) => void): void {
  const probs = new Tensor([dims.T, dims.T]);
  const blockBytes = dims.T * dims.D * 4;
  for (let bh = 0; bh < dims.B * dims.heads; bh++) body(bh * blockBytes, probs);
  probs.dispose();
}
