/**
 * Modules made of modules, so that blocks need no hand-written plumbing:
 * - Sequential: y = f_n(... f_1(x)); backward walks the list in reverse, and only the first module produces
 *   the input gradient (into the caller's `dx`).
 * - Residual: y = branch(x) + shortcut(x), the shortcut being the identity or a module (a 1x1 convolution when the
 *   channels change). Backward: dx = shortcut'(dy) first, then the branch adds its input gradient into the same
 *   tensor, so every element is computed as in one hand-written block.
 */
import { addInPlace } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class Sequential implements Module {
  readonly modules: readonly Module[];

  constructor(readonly name: string, modules: readonly Module[]) {
    if (modules.length === 0) throw new Error(`${name}: a Sequential needs at least one module`);
    this.modules = modules;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    let h = x;
    for (const module of this.modules) h = module.forward(h, ctx);
    return h;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    let grad = dy;
    for (let i = this.modules.length - 1; i > 0; i--) grad = this.modules[i].backward(grad, ctx) as Tensor;
    return this.modules[0].backward(grad, ctx, dx);
  }
}

export class Residual implements Module {
  constructor(readonly name: string, readonly branch: Module, readonly shortcut: Module | null = null) {}

  forward(x: Tensor, ctx: Context): Tensor {
    const y = this.branch.forward(x, ctx);
    return addInPlace(y, this.shortcut ? this.shortcut.forward(x, ctx) : x);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    let target: Tensor | null;
    if (this.shortcut) target = this.shortcut.backward(dy, ctx, dx);
    else if (dx === null) target = null;
    else if (dx) target = addInPlace(dx, dy);
    else target = dy.clone();
    this.branch.backward(dy, ctx, target);
    return target;
  }
}
