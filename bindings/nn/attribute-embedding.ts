/**
 * Labels per attribute (core/attribute-labels.ts): one learned table per attribute, `class_embeddings.a` with
 * sizes[a] + 1 rows (the last: the attribute's null value, "any"), and the rows of a sample's values summed into its
 * time embedding. Each attribute is dropped on its own in training, so the model learns every combination of known
 * and unknown attributes, and guidance can compose them (Liu et al. 2022).
 */
import { decodeAttributes } from '../core/attribute-labels.ts';
import { addInPlace } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

export class AttributeEmbedding implements Module {
  readonly tables: Parameter[];

  constructor(params: ParameterSet, readonly name: string, readonly sizes: readonly number[], readonly channels: number) {
    // nn.Embedding's N(0, 1), as a uniform of the same variance (see ClassEmbedding).
    this.tables = sizes.map((size, a) => params.add(`${name}.${a}.weight`, [size + 1, channels], { uniform: Math.sqrt(3) }));
  }

  /** x [N, channels] plus, for each sample, the row of each attribute's value. */
  forward(x: Tensor, ctx: Context): Tensor {
    const values = this.values(ctx);
    const y = x.clone();
    values.forEach((row, n) => row.forEach((value, a) => addInPlace(this.row(y, n), this.row(this.tables[a].value, value))));
    return y;
  }

  /** Adds each sample's dy row into the gradient of each of its attributes' rows, in order; dy passes through to x. */
  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    this.values(ctx).forEach((row, n) => row.forEach((value, a) => addInPlace(this.row(this.tables[a].grad, value), this.row(dy, n))));
    if (dx === null) return null;
    return dx ? addInPlace(dx, dy) : dy;
  }

  /** Each sample's value of each attribute, from its label (checked against the model's label count). */
  private values(ctx: Context): number[][] {
    const labels = ctx.labels;
    if (labels === null) throw new Error(`${this.name}: class labels are needed (ctx.labels)`);
    const limit = this.sizes.reduce((product, size) => product * (size + 1), 1);
    return Array.from(labels, (label) => {
      if (!Number.isInteger(label) || label < 0 || label >= limit) {
        throw new Error(`${this.name}: class label ${label} is out of range: labels per attribute [${this.sizes.join(', ')}] are 0..${limit - 1}`);
      }
      return decodeAttributes(label, this.sizes);
    });
  }

  private row(t: Tensor, n: number): Tensor {
    return t.subview(n * this.channels, [this.channels]);
  }
}
