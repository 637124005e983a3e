/**
 * Changing resolution inside the U-Net (diffusers' Downsample2D and Upsample2D with use_conv=True):
 * down = 3x3 convolution with stride 2 and padding 1 (halves H and W, rounding up);
 * up = nearest-neighbour 2x upsampling, then a 3x3 convolution with padding 1.
 */
import { upsampleNearest2x, upsampleNearest2xBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { Conv2d } from './conv2d.ts';
import type { InputGrad, Module } from './module.ts';
import type { ParameterSet } from './parameters.ts';

/** Nearest-neighbour 2x upsampling [N, C, H, W] -> [N, C, 2H, 2W]; no parameters. */
export class UpsampleNearest2x implements Module {
  constructor(readonly name: string) {}
  forward(x: Tensor): Tensor { return upsampleNearest2x(x); }
  backward(dy: Tensor, _ctx: Context, dx?: InputGrad): Tensor | null { return upsampleNearest2xBackward(dy, { dx }); }
}

/** diffusers' Downsample2D: a 3x3 convolution with stride 2 (its parameters are `<name>.conv.*`). */
export function downsample2D(params: ParameterSet, name: string, channels: number): Module {
  return new Conv2d(params, `${name}.conv`, channels, channels, 3, 2, 1);
}

/** diffusers' Upsample2D: nearest 2x, then a 3x3 convolution (`<name>.conv.*`). */
export function upsample2D(params: ParameterSet, name: string, channels: number): Module {
  return new Sequential(name, [new UpsampleNearest2x(`${name}.upsample`), new Conv2d(params, `${name}.conv`, channels, channels, 3, 1, 1)]);
}
