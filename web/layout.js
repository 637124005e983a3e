/**
 * How the page lays out a batch of samples as one grid (the options of `toRGBA` from the library's
 * io/pixels module), shared by the page's worker and by test/web/page.test.ts, which draws the same samples in
 * Node and compares the bytes. Plain JavaScript, no imports: runs in the browser and in Node.
 */

/** The digit datasets are 28x28 digits, possibly padded: the page shows the digit itself. */
const DIGIT_DATA = ['mnist', 'colored-mnist'];
const DIGIT_SIDE = 28;

/**
 * The `toRGBA` options for `batchSize` samples of a model's data (`metadata.data` of its file:
 * { name, sampleShape: [C, H, W] }): a square-ish grid, one white pixel between cells and around the edge,
 * and digits cropped to 28x28.
 */
export function gridOptions(batchSize, data) {
  const [, H, W] = data.sampleShape;
  const options = { columns: Math.ceil(Math.sqrt(batchSize)), scale: 1, gap: 1, background: 255 };
  if (DIGIT_DATA.includes(data.name) && H === W && H > DIGIT_SIDE) options.crop = DIGIT_SIDE;
  return options;
}
