/**
 * The denoising process as an animated GIF or WebP: one frame per recorded sampling step (x_t from pure noise
 * to the final samples), each drawn as an image grid (images) or a scatter plot (2-D points) with the same
 * layout and axis range throughout, looping forever, the last frame held a while before the loop restarts.
 */
import sharp from 'sharp';
import { extname } from 'node:path';
import { checkImageShape, imageGrid, type GridOptions } from './grid.ts';
import { scatterPlot, symmetricRange, type ScatterOptions } from './scatter.ts';
import { checkInteger } from './svg.ts';

export type AnimationFormat = 'gif' | 'webp';

export interface AnimationOptions {
  /** Default 'gif'; see `animationFormatFor` to choose by file name. */
  format?: AnimationFormat;
  /** Milliseconds per frame. Default 60. */
  delay?: number;
  /** Milliseconds the last frame stays before the loop restarts. Default 1500. */
  holdLast?: number;
  /** A caption per frame, drawn as its title (e.g. 't = 999'). */
  captions?: readonly string[];
  /** Layout of image frames (columns, scale, padding, background grey level). */
  grid?: Omit<GridOptions, 'title' | 'labels'>;
  /** Scatter frames: the training data under them, the picture size, the axis range (default: from all frames). */
  scatter?: Omit<ScatterOptions, 'title'>;
}

/**
 * The animation's bytes. `frames` are the recorded samples, each of `shape`: [N, C, H, W] images in [-1, 1]
 * or [N, 2] points.
 */
export async function denoisingAnimation(frames: readonly Float32Array[], shape: readonly number[], options: AnimationOptions = {}): Promise<Uint8Array> {
  const { format = 'gif', delay = 60, holdLast = 1500, captions } = options;
  if (frames.length === 0) throw new Error('denoisingAnimation: no frames');
  if (format !== 'gif' && format !== 'webp') throw new Error(`denoisingAnimation: format must be 'gif' or 'webp', got '${format}'`);
  checkInteger('denoisingAnimation', 'delay', delay);
  checkInteger('denoisingAnimation', 'holdLast', holdLast);
  if (delay > 65535 || holdLast > 65535) throw new Error(`denoisingAnimation: delays are at most 65535 ms, got ${Math.max(delay, holdLast)}`);
  if (captions && captions.length !== frames.length) throw new Error(`denoisingAnimation: ${captions.length} captions for ${frames.length} frames`);

  const pictures = await renderFrames(frames, shape, options);
  const delays = frames.map((_, i) => (i === frames.length - 1 ? holdLast : delay));
  const joined = sharp(pictures.map((p) => Buffer.from(p)), { join: { animated: true } });
  // No dithering: it turns smooth grey into noise that GIF's LZW cannot compress; duplicates are kept so that
  // there is always one page per frame.
  return format === 'gif'
    ? joined.gif({ delay: delays, loop: 0, dither: 0, effort: 7, keepDuplicateFrames: true }).toBuffer()
    : joined.webp({ delay: delays, loop: 0, quality: 90, effort: 4 }).toBuffer();
}

/** The animation format for a file name: '.gif' or '.webp' (any case); other extensions are an error. */
export function animationFormatFor(path: string): AnimationFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.gif') return 'gif';
  if (extension === '.webp') return 'webp';
  throw new Error(`cannot tell the animation format of ${path}: name it .gif or .webp`);
}

/** Every frame as a PNG, with one layout for all (the scatter range is fixed across frames). */
async function renderFrames(frames: readonly Float32Array[], shape: readonly number[], options: AnimationOptions): Promise<Uint8Array[]> {
  const title = (i: number) => options.captions?.[i];
  if (shape.length === 2 && shape[1] === 2) {
    frames.forEach((frame, i) => {
      if (frame.length !== shape[0] * 2) throw new Error(`denoisingAnimation: frame ${i} has ${frame.length} values, shape [${shape.join(', ')}] needs ${shape[0] * 2}`);
    });
    const background = options.scatter?.background;
    const range = options.scatter?.range ?? symmetricRange(...frames, ...(background ? [background] : []));
    const scatter = { size: 384, ...options.scatter, range };
    return Promise.all(frames.map((frame, i) => scatterPlot(frame, { ...scatter, title: title(i) })));
  }
  frames.forEach((frame, i) => checkImageShape(`denoisingAnimation: frame ${i}`, frame, shape));
  return Promise.all(frames.map((frame, i) => imageGrid(frame, shape, { ...options.grid, title: title(i) })));
}
