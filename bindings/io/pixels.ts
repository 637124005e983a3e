/**
 * Samples as pixels: a batch of images [N, C, H, W] in the library's image range [-1, 1] laid out as one RGBA
 * grid (cells in rows of `columns`, `gap` pixels of background between cells and around the edge, each image
 * upscaled `scale` times with nearest neighbour), ready for a canvas's `putImageData` or an image encoder.
 *
 * Values map to bytes as round((x + 1) * 127.5), clamped to [0, 255], NaN to 0 (the mapping of the `ddpm`
 * command's pictures): one add and one multiply, exact in IEEE doubles, then integers, so the same samples give
 * the same bytes in every engine. Every pixel is opaque (alpha 255), so the bytes survive a round trip through a
 * 2-D canvas unchanged. Pure: no WebAssembly, no Node; runs in the browser as it is.
 */

/** How `toRGBA` lays out the grid. */
export interface RGBAOptions {
  /** Cells per row (at most N are used). Default: ceil(sqrt(N)), a square-ish grid. */
  columns?: number;
  /** Integer upscaling factor (nearest neighbour). Default 1. */
  scale?: number;
  /** Pixels of background between cells and around the edge (after scaling). Default 0. */
  gap?: number;
  /** Grey level of the gaps, 0-255. Default 255 (white). */
  background?: number;
  /** Keep only the centre `crop` x `crop` of each image (e.g. 28 for digits padded to 32). Default: all of it. */
  crop?: number;
}

/** An RGBA image: `width * height * 4` bytes, row by row, like the browser's ImageData. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/**
 * Draws `images` ([N, C, H, W], C = 1 for grey or 3 for RGB, values in [-1, 1]) as one RGBA grid.
 * Throws when the shape does not match the data or an option is out of range.
 */
export function toRGBA(images: Float32Array, shape: readonly number[], options: RGBAOptions = {}): RGBAImage {
  const [N, C, H, W] = checkShape(images, shape);
  const o = checkOptions(N, H, W, options);
  const side = { h: o.crop ?? H, w: o.crop ?? W };
  const top = (H - side.h) >> 1, left = (W - side.w) >> 1;
  const cellWidth = side.w * o.scale, cellHeight = side.h * o.scale;
  const columns = Math.min(o.columns, N);
  const rows = Math.ceil(N / columns);
  const width = columns * cellWidth + (columns + 1) * o.gap;
  const height = rows * cellHeight + (rows + 1) * o.gap;
  const data = new Uint8ClampedArray(width * height * 4);
  fillBackground(data, o.background);
  const plane = H * W;
  for (let n = 0; n < N; n++) {
    const x0 = o.gap + (n % columns) * (cellWidth + o.gap);
    const y0 = o.gap + Math.floor(n / columns) * (cellHeight + o.gap);
    const image = n * C * plane;
    for (let y = 0; y < cellHeight; y++) {
      const sourceRow = image + (top + Math.floor(y / o.scale)) * W + left;
      let out = ((y0 + y) * width + x0) * 4;
      for (let x = 0; x < cellWidth; x++, out += 4) {
        const at = sourceRow + Math.floor(x / o.scale);
        const red = toByte(images[at]);
        data[out] = red;
        data[out + 1] = C === 3 ? toByte(images[at + plane]) : red;
        data[out + 2] = C === 3 ? toByte(images[at + 2 * plane]) : red;
      }
    }
  }
  return { width, height, data };
}

/** A value of the image range [-1, 1] as a byte: round((x + 1) * 127.5), clamped to [0, 255]; NaN gives 0. */
export function toByte(x: number): number {
  const v = Math.round((x + 1) * 127.5);
  return v >= 0 ? (v <= 255 ? v : 255) : 0;
}

function fillBackground(data: Uint8ClampedArray, grey: number): void {
  data.fill(grey);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
}

function checkShape(images: Float32Array, shape: readonly number[]): [number, number, number, number] {
  if (!(images instanceof Float32Array)) throw new Error(`toRGBA: images must be a Float32Array, got ${describe(images)}`);
  const valid = Array.isArray(shape) && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0) && (shape[1] === 1 || shape[1] === 3);
  if (!valid) throw new Error(`toRGBA: shape must be [N, C, H, W] with C = 1 (grey) or 3 (RGB), got [${Array.from(shape ?? []).join(', ')}]`);
  const count = shape[0] * shape[1] * shape[2] * shape[3];
  if (images.length !== count) throw new Error(`toRGBA: ${images.length} values do not fill shape [${shape.join(', ')}] (${count} values)`);
  return shape as [number, number, number, number];
}

function checkOptions(N: number, H: number, W: number, options: RGBAOptions): Required<Omit<RGBAOptions, 'crop'>> & { crop?: number } {
  const o = { columns: Math.ceil(Math.sqrt(N)), scale: 1, gap: 0, background: 255, ...options };
  const integer = (name: string, value: unknown, min: number, max: number, what: string) => {
    if (!(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
      throw new Error(`toRGBA: ${name} must be ${what}, got ${String(value)}`);
    }
  };
  integer('columns', o.columns, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  integer('scale', o.scale, 1, 64, 'an integer from 1 to 64');
  integer('gap', o.gap, 0, 1024, 'an integer from 0 to 1024');
  integer('background', o.background, 0, 255, 'a grey level from 0 to 255');
  if (o.crop !== undefined) integer('crop', o.crop, 1, Math.min(H, W), `an integer from 1 to ${Math.min(H, W)} (the images are ${H}x${W})`);
  return o;
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? (value as object).constructor?.name ?? 'an object' : typeof value;
}
