/**
 * Labels per attribute (e.g. a colored digit's digit and color, for compositional guidance: Liu et al. 2022,
 * "Compositional Visual Generation with Composable Diffusion Models") as one integer label per sample: attribute a
 * takes values 0 .. sizes[a] - 1, and sizes[a] is its null value ("any"); a label is the mixed-radix number of the
 * values with bases sizes[a] + 1, the last attribute varying fastest. With sizes [10, 6], 'a red 7' (7, 0) is
 * 7 · 7 + 0 = 49, 'a 7 of any color' (7, 6) is 55, 'anything red' (10, 0) is 70, and 'anything' (10, 6) is 76, the
 * product of the bases minus 1: the null label of classifier-free guidance, as for a plain label table.
 */

/** The number of labels of a model with these attribute sizes, the all-null one excluded: prod(sizes + 1) - 1. */
export function attributeLabelCount(sizes: readonly number[]): number {
  return sizes.reduce((product, size) => product * (size + 1), 1) - 1;
}

/** The label of one value per attribute (sizes[a] for 'any'). */
export function encodeAttributes(values: readonly number[], sizes: readonly number[]): number {
  return values.reduce((label, value, a) => label * (sizes[a] + 1) + value, 0);
}

/** The value of each attribute in a label (sizes[a] for 'any'). */
export function decodeAttributes(label: number, sizes: readonly number[]): number[] {
  const values = new Array<number>(sizes.length);
  for (let a = sizes.length - 1; a >= 0; a--) {
    values[a] = label % (sizes[a] + 1);
    label = Math.floor(label / (sizes[a] + 1));
  }
  return values;
}

/** The label with only attribute `keep`'s value, the others set to 'any'. */
export function onlyAttribute(label: number, keep: number, sizes: readonly number[]): number {
  return encodeAttributes(decodeAttributes(label, sizes).map((value, a) => (a === keep ? value : sizes[a])), sizes);
}
