/**
 * Changing resolution inside the U-Net:
 * - diffusers' Downsample2D with use_conv=True: a 3x3 convolution with stride 2, after padding every side by 1
 *   (downsample_padding 1) or the right and bottom by 1 (downsample_padding 0, as google/ddpm-cifar10-32);
 * - Upsample2D with use_conv=True: nearest-neighbour 2x upsampling, then a 3x3 convolution with padding 1;
 * - the parameter-free resamplers of the resnets that resample (ResnetBlock2D up/down): nearest 2x up, 2x2
 *   average pooling down, or FIR (1, 3, 3, 1) up and down for kernel="fir" (and the NCSN++ skip image).
 */
import { avgPool2x2, avgPool2x2Backward, firDownsample2x, firDownsample2xBackward, firUpsample2x, firUpsample2xBackward, pad2d, pad2dBackward, type Padding } from '../ops/resample.ts';
import { upsampleNearest2x, upsampleNearest2xBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { Conv2d } from './conv2d.ts';
import type { InputGrad, Module } from './module.ts';
import type { ParameterSet } from './parameters.ts';

/** A parameter-free resampling of [N, C, H, W] whose backward needs nothing saved (the maps are linear). */
class LinearResample implements Module {
  constructor(
    readonly name: string,
    private readonly forwardOp: (x: Tensor) => Tensor,
    private readonly backwardOp: (dy: Tensor, into: { dx?: InputGrad }) => Tensor | null,
  ) {}

  forward(x: Tensor): Tensor { return this.forwardOp(x); }
  backward(dy: Tensor, _ctx: Context, dx?: InputGrad): Tensor | null { return this.backwardOp(dy, { dx }); }
}

/** Nearest-neighbour 2x upsampling [N, C, H, W] -> [N, C, 2H, 2W]. */
export class UpsampleNearest2x extends LinearResample {
  constructor(name: string) { super(name, upsampleNearest2x, upsampleNearest2xBackward); }
}

/** 2x2 average pooling [N, C, H, W] -> [N, C, H/2, W/2]. */
export class AvgPool2x2 extends LinearResample {
  constructor(name: string) { super(name, avgPool2x2, avgPool2x2Backward); }
}

/** FIR downsampling with (1, 3, 3, 1): [N, C, H, W] -> [N, C, H/2, W/2]. */
export class FirDownsample2x extends LinearResample {
  constructor(name: string) { super(name, firDownsample2x, firDownsample2xBackward); }
}

/** FIR upsampling with (1, 3, 3, 1): [N, C, H, W] -> [N, C, 2H, 2W]. */
export class FirUpsample2x extends LinearResample {
  constructor(name: string) { super(name, firUpsample2x, firUpsample2xBackward); }
}

/** Zero padding by the given sides. */
export class Pad2d extends LinearResample {
  constructor(name: string, padding: Padding) {
    super(name, (x) => pad2d(x, padding), (dy, into) => pad2dBackward(dy, padding, into));
  }
}

/** diffusers' Downsample2D: a 3x3 convolution with stride 2 (parameters `<name>.conv.*`); `padding` 1 or 0 (see above). */
export function downsample2D(params: ParameterSet, name: string, channels: number, padding: 0 | 1 = 1): Module {
  if (padding === 1) return new Conv2d(params, `${name}.conv`, channels, channels, 3, 2, 1);
  return new Sequential(name, [
    new Pad2d(`${name}.pad`, { top: 0, bottom: 1, left: 0, right: 1 }),
    new Conv2d(params, `${name}.conv`, channels, channels, 3, 2, 0),
  ]);
}

/**
 * diffusers' Upsample2D: nearest 2x, then a 3x3 convolution (`<name>.conv.*`); an inference pass upsamples inside
 * the packed convolution's padding copy (no upsampled tensor; the same bits).
 */
export class Upsample2D extends Sequential {
  private readonly conv: Conv2d;

  constructor(params: ParameterSet, name: string, channels: number) {
    const conv = new Conv2d(params, `${name}.conv`, channels, channels, 3, 1, 1);
    super(name, [new UpsampleNearest2x(`${name}.upsample`), conv]);
    this.conv = conv;
  }

  override forward(x: Tensor, ctx: Context): Tensor {
    return ctx.inference ? this.conv.infer(x, ctx, { upsample: true, padding: 1 }) : super.forward(x, ctx);
  }
}

/** diffusers' Upsample2D (see the class). */
export function upsample2D(params: ParameterSet, name: string, channels: number): Module {
  return new Upsample2D(params, name, channels);
}

/** How a resnet resamples (diffusers' ResnetBlock2D up / down, with kernel "fir" or the default). */
export type ResnetResample = 'down' | 'up' | 'fir-down' | 'fir-up';

/** The parameter-free resampler a resnet applies to its input and its hidden state. */
export function resnetResampler(name: string, kind: ResnetResample): Module {
  switch (kind) {
    case 'down': return new AvgPool2x2(name);
    case 'up': return new UpsampleNearest2x(name);
    case 'fir-down': return new FirDownsample2x(name);
    case 'fir-up': return new FirUpsample2x(name);
    default: throw new Error(`${name}: unknown resampling '${String(kind)}' (down, up, fir-down, fir-up)`);
  }
}
