/** SiLU (swish), x * sigmoid(x): the activation of every DDPM U-Net and of the MLP denoiser. */
import { silu, siluBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { saved, type InputGrad, type Layer } from './layer.ts';

export class SiLU implements Layer {
  private x: Tensor | null = null;

  forward(x: Tensor): Tensor {
    this.x = x;
    return silu(x);
  }

  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    if (dx === null) return null;
    return siluBackward(dy, saved(this.x, 'SiLU'), { dx });
  }
}
