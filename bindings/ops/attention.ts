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
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, sameShape, tensorArg } from './check.ts';

/** assembly/attention.ts. Pointers are byte addresses; BH = batch items × heads, T tokens, D head size. */
export interface AttentionKernels {
  /** o [BH, T, D] = softmax(q·kᵀ/sqrt(D))·v; probs [BH, T, T] receives the softmax (o = 0: probs only). */
  attentionForward(o: number, probs: number, q: number, k: number, v: number, BH: number, T: number, D: number): void;
  attentionForwardScalar(o: number, probs: number, q: number, k: number, v: number, BH: number, T: number, D: number): void;
  /** ADDs dL/dq, dL/dk, dL/dv into dq, dk, dv (a 0 pointer skips one); work: T·T floats of scratch. */
  attentionBackward(dq: number, dk: number, dv: number, dO: number, q: number, k: number, v: number, probs: number,
    work: number, BH: number, T: number, D: number): void;
  attentionBackwardScalar(dq: number, dk: number, dv: number, dO: number, q: number, k: number, v: number, probs: number,
    work: number, BH: number, T: number, D: number): void;
}

/** Where each gradient goes: a Tensor [B, heads, T, D] to ADD into, `null` to skip it, absent to allocate one. */
export interface AttentionGradTargets {
  dq?: Tensor | null;
  dk?: Tensor | null;
  dv?: Tensor | null;
}

/** The gradients: a Tensor [B, heads, T, D] each, or `null` for those that `into` skipped. */
export type AttentionGrads<I extends AttentionGradTargets = AttentionGradTargets> = {
  dq: GradOf<I['dq']>;
  dk: GradOf<I['dk']>;
  dv: GradOf<I['dv']>;
};
type GradOf<Target> = Target extends null ? null : Tensor;

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
 * head at a time. `into` (optional): per gradient, a Tensor [B, heads, T, D] to ADD into, `null` to skip it
 * (skipping saves work), or absent to allocate a zeroed one.
 */
export function attentionBackward<I extends AttentionGradTargets = {}>(
  dO: Tensor, q: Tensor, k: Tensor, v: Tensor, into?: I,
): AttentionGrads<I> {
  const op = 'attentionBackward';
  const dims = checkInputs(op, q, k, v);
  sameShape(op, 'q', q.shape, 'dO', tensorArg(op, 'dO', dO, 4, LEGEND));
  const grads = gradTargets(op, q.shape, into, [dO, q, k, v]);
  const { T, D } = dims;
  const [dq, dk, dv] = [grads.dq, grads.dk, grads.dv].map((g) => g?.ptr ?? 0);
  if (dq === 0 && dk === 0 && dv === 0) return grads as AttentionGrads<I>;
  const work = new Tensor([T, T]);
  forEachHead(dims, (offset, probs) => {
    const at = (ptr: number) => (ptr === 0 ? 0 : ptr + offset);
    // o = 0: only the probabilities are needed.
    wasm().attentionForward(0, probs.ptr, q.ptr + offset, k.ptr + offset, v.ptr + offset, 1, T, D);
    wasm().attentionBackward(at(dq), at(dk), at(dv), dO.ptr + offset, q.ptr + offset, k.ptr + offset,
      v.ptr + offset, probs.ptr, work.ptr, 1, T, D);
  });
  work.dispose();
  return grads as AttentionGrads<I>;
}

/**
 * Gradients of `attentionForward` wrt q, k and v from the probabilities it returned, probs [B, heads, T, T],
 * and dO = dL/do [B, heads, T, D]. `into` as in `attentionBackward`.
 */
export function attentionBackwardWithProbs<I extends AttentionGradTargets = {}>(
  dO: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, into?: I,
): AttentionGrads<I> {
  const op = 'attentionBackwardWithProbs';
  const { B, heads, T, D } = checkInputs(op, q, k, v);
  sameShape(op, 'q', q.shape, 'dO', tensorArg(op, 'dO', dO, 4, LEGEND));
  const probsShape = tensorArg(op, 'probs', probs, 4, '[B, heads, T, T]');
  if (probsShape.some((d, i) => d !== [B, heads, T, T][i])) {
    throw new Error(`${op}: probs must be [${B}, ${heads}, ${T}, ${T}] for q ${fmt(q.shape)}, got ${fmt(probsShape)}`);
  }
  const grads = gradTargets(op, q.shape, into, [dO, q, k, v, probs]);
  const [dq, dk, dv] = [grads.dq, grads.dk, grads.dv].map((g) => g?.ptr ?? 0);
  if (dq === 0 && dk === 0 && dv === 0) return grads as AttentionGrads<I>;
  const work = new Tensor([T, T]);
  wasm().attentionBackward(dq, dk, dv, dO.ptr, q.ptr, k.ptr, v.ptr, probs.ptr, work.ptr, B * heads, T, D);
  work.dispose();
  return grads as AttentionGrads<I>;
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

/**
 * Resolves `into` to one Tensor or null per gradient, allocating zeroed ones where absent. A target must be a
 * live Tensor of q's shape whose storage overlaps none of the inputs (the kernel reads them while it adds).
 */
function gradTargets(op: string, shape: Shape, into: AttentionGradTargets | undefined, inputs: Tensor[]) {
  if (into !== undefined && (into === null || typeof into !== 'object')) {
    throw new Error(`${op}: into must be an object { dq?, dk?, dv? }, got ${into === null ? 'null' : typeof into}`);
  }
  const names = ['dq', 'dk', 'dv'] as const;
  for (const name of names) {
    const target = into?.[name];
    if (target === null || target === undefined) continue;
    sameShape(op, 'q', shape, `into.${name}`, tensorArg(op, `into.${name}`, target, 4, LEGEND));
    if (inputs.some((t) => overlaps(t, target))) {
      throw new Error(`${op}: into.${name} shares storage with an input; gradients must go to a separate tensor`);
    }
  }
  // Allocate only once everything is valid, so a bad argument leaves nothing behind.
  const [dq, dk, dv] = names.map((name) => (into?.[name] === undefined ? Tensor.zeros(shape) : into[name]));
  return { dq, dk, dv };
}

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.ptr < b.ptr + b.size * 4 && b.ptr < a.ptr + a.size * 4;
}

/** Calls `body` for every (batch item, head) with the byte offset of its [T, D] block and a [T, T] scratch. */
function forEachHead(dims: Dims, body: (offset: number, probs: Tensor) => void): void {
  const probs = new Tensor([dims.T, dims.T]);
  const blockBytes = dims.T * dims.D * 4;
  for (let bh = 0; bh < dims.B * dims.heads; bh++) body(bh * blockBytes, probs);
  probs.dispose();
}
