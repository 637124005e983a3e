/**
 * Optimizer updates over flat buffers (assembly/adamw.ts): one AdamW step (torch.optim.AdamW, decoupled weight
 * decay) and the exponential moving average of the weights that diffusion models sample with. Both update
 * their first tensor(s) in place. All of a model's parameters live in one tensor and its gradients in another,
 * so one call updates the whole model.
 */
import { wasm } from '../core/instance.ts';
import type { Tensor } from '../tensor.ts';
import { fmt, intArg, numberArg, sameShape, tensorArg } from './check.ts';

/** Hyperparameters of `adamwStep` (PyTorch's names and defaults, camelCased). */
export interface AdamWOptions {
  /** Learning rate: a finite number >= 0. Required. */
  lr: number;
  /** Decay of the first moment, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second moment, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the denominator: a finite number >= 0. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (p -= lr * weightDecay * p): a finite number >= 0. Default 0.01. */
  weightDecay?: number;
  /** The 1-based number of this step (for the bias corrections): an integer in [1, 2^31 - 1]. Required. */
  step: number;
}

const ADAMW_OPTIONS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step'];

/**
 * One AdamW step, in place: updates `param`, and the moment estimates `m` and `v` (zeros before the first
 * step), from `grad`. All four tensors have the same shape and are distinct buffers. Per element:
 *   p -= lr·weightDecay·p;  m = β1·m + (1 - β1)·g;  v = β2·v + (1 - β2)·g²;
 *   p -= lr·(m / (1 - β1^step)) / (sqrt(v / (1 - β2^step)) + eps)
 * (assembly/adamw.ts documents the exact float32 order of operations).
 */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void {
  const op = 'adamwStep';
  const tensors = { param, grad, m, v };
  for (const [name, t] of Object.entries(tensors)) tensorArg(op, name, t);
  sameShape(op, 'param', param.shape, 'grad', grad.shape);
  sameShape(op, 'param', param.shape, 'm', m.shape);
  sameShape(op, 'param', param.shape, 'v', v.shape);
  checkDisjoint(op, tensors);
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01, step } = checkOptions(op, options);
  atLeastZero(op, 'lr', lr);
  unitInterval(op, 'beta1', beta1);
  unitInterval(op, 'beta2', beta2);
  atLeastZero(op, 'eps', eps);
  atLeastZero(op, 'weightDecay', weightDecay);
  intArg(op, 'options.step', step, 1);
  if (step > 2 ** 31 - 1) throw new Error(`${op}: options.step must be at most 2^31 - 1, got ${step}`);
  wasm().adamwStep(param.ptr, grad.ptr, m.ptr, v.ptr, param.size, lr, beta1, beta2, eps, weightDecay, step);
}

/**
 * ema = decay·ema + (1 - decay)·param, in place on `ema` (the same shape as `param`, a distinct buffer).
 * `decay` is in [0, 1]: 1 keeps ema, 0 copies param.
 */
export function emaUpdate(ema: Tensor, param: Tensor, decay: number): void {
  const op = 'emaUpdate';
  tensorArg(op, 'ema', ema);
  tensorArg(op, 'param', param);
  sameShape(op, 'param', param.shape, 'ema', ema.shape);
  checkDisjoint(op, { ema, param });
  numberArg(op, 'decay', decay);
  if (decay < 0 || decay > 1) throw new Error(`${op}: decay must be in [0, 1], got ${decay}`);
  wasm().emaUpdate(ema.ptr, param.ptr, ema.size, decay);
}

function checkOptions(op: string, options: AdamWOptions): AdamWOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${op}: options must be an object { lr, step, beta1?, beta2?, eps?, weightDecay? }, got ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!ADAMW_OPTIONS.includes(key)) throw new Error(`${op}: unknown option '${key}' (allowed: ${ADAMW_OPTIONS.join(', ')})`);
  }
  return options;
}

function atLeastZero(op: string, name: string, value: number): void {
  numberArg(op, `options.${name}`, value);
  if (value < 0) throw new Error(`${op}: options.${name} must be >= 0, got ${value}`);
}

function unitInterval(op: string, name: string, value: number): void {
  numberArg(op, `options.${name}`, value);
  if (value < 0 || value >= 1) throw new Error(`${op}: options.${name} must be in [0, 1), got ${value}`);
}

/** In-place updates read and write every buffer element by element: overlapping buffers would corrupt them. */
function checkDisjoint(op: string, tensors: Record<string, Tensor>): void {
  const entries = Object.entries(tensors);
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [nameA, a] = entries[i], [nameB, b] = entries[j];
      if (a.size > 0 && b.size > 0 && a.ptr < b.ptr + b.size * 4 && b.ptr < a.ptr + a.size * 4) {
        throw new Error(`${op}: ${nameA} ${fmt(a.shape)} and ${nameB} ${fmt(b.shape)} share memory: they must be distinct buffers`);
      }
    }
  }
}
