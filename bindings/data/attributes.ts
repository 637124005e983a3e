/**
 * A labelled dataset relabelled per attribute (core/attribute-labels.ts): colored-mnist's labels digit · 6 + color
 * become the codes of (digit, color) with bases (11, 7), and the class names name every code a model with labels per
 * attribute can be asked for ('7 red', '7 any', 'any red'), the all-null one excepted. The images are the same.
 */
import { attributeLabelCount, decodeAttributes, encodeAttributes } from '../core/attribute-labels.ts';
import type { Tensor } from '../tensor.ts';
import type { Dataset } from './dataset.ts';

/** The name a value takes in class names when it is the attribute's null value. */
export const ANY = 'any';

export class AttributeDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: readonly number[];
  readonly classNames: readonly string[];

  /**
   * @param base a dataset whose label is the mixed-radix number of its attributes' values with bases `sizes`
   *   (colored-mnist: digit · 6 + color)
   * @param names each attribute's value names
   */
  constructor(private readonly base: Dataset, readonly name: string, readonly sizes: readonly number[], names: readonly (readonly string[])[]) {
    const total = sizes.reduce((a, b) => a * b, 1);
    if (base.numClasses !== total) throw new Error(`${name}: the base dataset has ${base.numClasses} classes, attributes [${sizes.join(', ')}] make ${total}`);
    this.size = base.size;
    this.sampleShape = base.sampleShape;
    this.classNames = Array.from({ length: attributeLabelCount(sizes) }, (_, label) =>
      decodeAttributes(label, sizes).map((value, a) => (value === sizes[a] ? ANY : names[a][value])).join(' '));
  }

  get numClasses(): number { return this.classNames.length; }

  batch(indices: Int32Array): { x: Tensor; labels: Int32Array | null; condition?: Tensor } {
    const { x, labels } = this.base.batch(indices);
    return { x, labels: labels && Int32Array.from(labels, (label) => encodeAttributes(plainValues(label, this.sizes), this.sizes)) };
  }
}

/** The values of a label of plain mixed radix with bases `sizes` (no null values). */
function plainValues(label: number, sizes: readonly number[]): number[] {
  const values = new Array<number>(sizes.length);
  for (let a = sizes.length - 1; a >= 0; a--) {
    values[a] = label % sizes[a];
    label = Math.floor(label / sizes[a]);
  }
  return values;
}
