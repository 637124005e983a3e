/**
 * Changing resolution inside the U-Net (diffusers' Downsample2D and Upsample2D with use_conv=True):
 * down = 3x3 convolution with stride 2 and padding 1 (halves H and W, rounding up);
 * up = nearest-neighbour 2x upsampling, then a 3x3 convolution with padding 1.
 */
import { upsampleNearest2x, upsampleNearest2xBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { Conv2d } from './conv2d.ts';
import type { InputGrad, Layer } from './layer.ts';
import type { ParameterSet } from './parameters.ts';

export class Downsample2D implements Layer {
  readonly conv: Conv2d;
  constructor(params: ParameterSet, name: string, channels: number) {
    this.conv = new Conv2d(params, `${name}.conv`, channels, channels, 3, 2, 1);
  }
  forward(x: Tensor): Tensor { return this.conv.forward(x); }
  backward(dy: Tensor, dx?: InputGrad): Tensor | null { return this.conv.backward(dy, dx); }
}

export class Upsample2D implements Layer {
  readonly conv: Conv2d;
  constructor(params: ParameterSet, name: string, channels: number) {
    this.conv = new Conv2d(params, `${name}.conv`, channels, channels, 3, 1, 1);
  }
  forward(x: Tensor): Tensor { return this.conv.forward(upsampleNearest2x(x)); }
  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    const dUp = this.conv.backward(dy)!;
    return dx === null ? null : upsampleNearest2xBackward(dUp, { dx });
  }
}
