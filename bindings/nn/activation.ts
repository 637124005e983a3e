/**
 * Activations as layers. SiLU (swish), x · sigmoid(x), is the activation of every DDPM U-Net and of the MLP
 * denoiser; diffusers' resnets also take `act_fn` 'mish', 'gelu' (exact, with erf) and 'relu' (get_activation),
 * which `Activation` provides by name. `activationOps` gives the same functions as a pair of ops, for places that
 * activate something other than a module's input (the resnets' time embedding).
 */
import { gelu, geluBackward, mish, mishBackward, relu, reluBackward } from '../ops/activations.ts';
import { silu, siluBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

/** diffusers' activation names; 'swish' is 'silu'. */
export type ActFn = 'silu' | 'swish' | 'mish' | 'gelu' | 'relu';
export const ACT_FNS: readonly ActFn[] = ['silu', 'swish', 'mish', 'gelu', 'relu'];

/** An activation's forward and backward ops; the backward follows the ops' `into` convention for dx. */
export interface ActivationOps {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor, x: Tensor, dx?: InputGrad): Tensor | null;
}

const SILU: ActivationOps = { forward: silu, backward: (dy, x, dx) => siluBackward(dy, x, { dx }) };
const OPS: Record<ActFn, ActivationOps> = {
  silu: SILU,
  swish: SILU,
  mish: { forward: mish, backward: (dy, x, dx) => mishBackward(dy, x, { dx }) },
  gelu: { forward: gelu, backward: (dy, x, dx) => geluBackward(dy, x, { dx }) },
  relu: { forward: relu, backward: (dy, x, dx) => reluBackward(dy, x, { dx }) },
};

/** The ops of the activation `fn`, or an error naming the allowed names. */
export function activationOps(fn: ActFn, owner = 'activation'): ActivationOps {
  if (!ACT_FNS.includes(fn)) throw new Error(`${owner}: actFn must be one of ${ACT_FNS.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(fn)}`);
  return OPS[fn];
}

/** An element-wise activation layer; it saves its input for the backward. */
export class Activation implements Module {
  private readonly ops: ActivationOps;

  constructor(readonly name: string, readonly fn: ActFn) {
    this.ops = activationOps(fn, name);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    ctx.save(this, x);
    return this.ops.forward(x);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return this.ops.backward(dy, ctx.restore<Tensor>(this), dx);
  }
}

/** SiLU, x · sigmoid(x). */
export class SiLU extends Activation {
  constructor(name: string) {
    super(name, 'silu');
  }
}
