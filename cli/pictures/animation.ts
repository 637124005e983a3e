/**
 * The denoising process as an animated GIF or WebP: one frame per recorded sampling step (x_t from pure noise
 * to the final samples), each drawn as an image grid (images) or a scatter plot (2-D points) with the same
 * layout and axis range throughout, looping forever, the last frame held a while before the loop restarts.
 */
import sharp, { type Sharp } from 'sharp';
import { extname } from 'node:path';
import { checkImageShape, imageGrid, type GridOptions } from './grid.ts';
import { scatterFrames, type ScatterOptions } from './scatter.ts';
import { checkInteger } from './svg.ts';

/** The animated formats: GIF (plays everywhere) or WebP (lossless here). */
export type AnimationFormat = 'gif' | 'webp';

/** Options of `denoisingAnimation`. */
export interface AnimationOptions {
  /** Default 'gif'; see `animationFormatFor` to choose by file name. */
  format?: AnimationFormat;
  /** Milliseconds per frame. Default 60. */
  delay?: number;
  /** Milliseconds the last frame stays before the loop restarts. Default 1500. */
  holdLast?: number;
  /**
   * GIF only: the most colours per frame, 2-256 (sharp rounds up to 2, 4, 16 or 256). Default 16 for grey
   * images (indistinguishable from 256 for digits, and a third smaller), 256 for RGB images and scatter plots.
   * 16 also suits RGB digits and halves their size; photos need 256.
   */
  colours?: number;
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
  const { format = 'gif', delay = 60, holdLast = 1500, colours = shape.length === 4 && shape[1] === 1 ? 16 : 256, captions } = options;
  if (frames.length === 0) throw new Error('denoisingAnimation: no frames');
  if (format !== 'gif' && format !== 'webp') throw new Error(`denoisingAnimation: format must be 'gif' or 'webp', got '${format}'`);
  checkInteger('denoisingAnimation', 'delay', delay);
  checkInteger('denoisingAnimation', 'holdLast', holdLast);
  if (delay > 65535 || holdLast > 65535) throw new Error(`denoisingAnimation: delays are at most 65535 ms, got ${Math.max(delay, holdLast)}`);
  if (!(Number.isInteger(colours) && colours >= 2 && colours <= 256)) {
    throw new Error(`denoisingAnimation: colours must be an integer from 2 to 256, got ${colours}`);
  }
  if (captions && captions.length !== frames.length) throw new Error(`denoisingAnimation: ${captions.length} captions for ${frames.length} frames`);

  const pictures = await renderFrames(frames, shape, options);
  const delays = frames.map((_, i) => (i === frames.length - 1 ? holdLast : delay));
  const animation = await stackPages(pictures);
  return format === 'gif' ? encodeGif(animation, delays, colours) : animation.webp({ delay: delays, loop: 0, lossless: true, effort: 4 }).toBuffer();
}

/**
 * The frames as one tall RGB image of pages. (Not sharp's `join: { animated }`: with grey frames its GIFs
 * decode with every black pixel transparent.)
 */
async function stackPages(pictures: readonly Uint8Array[]): Promise<Sharp> {
  const pages = await Promise.all(pictures.map((p) => sharp(p).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const { width, height } = pages[0].info;
  const tall = Buffer.concat(pages.map((page) => page.data));
  return sharp(tall, { raw: { width, height: height * pages.length, channels: 3, pageHeight: height } });
}

/**
 * GIF settings, measured on 40 frames of 4 x 4 digits (most of a denoising run is noise, which LZW cannot
 * compress): no dithering (it turns smooth areas into noise); effort 1 (smaller and faster than the default 7
 * here); a pixel within 12/255 of the previous frame is left as it was (transparent), which costs nothing
 * visible and makes the file a third smaller; duplicates kept so that there is always one page per frame.
 * WebP is lossless: smaller than lossy WebP on these frames, and exact.
 */
function encodeGif(animation: Sharp, delays: number[], colours: number): Promise<Uint8Array> {
  return animation.gif({ delay: delays, loop: 0, dither: 0, effort: 1, interFrameMaxError: 12, colours, keepDuplicateFrames: true }).toBuffer();
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
      if (frame.length !== shape[0] * 2) {
        throw new Error(`denoisingAnimation: frame ${i} has ${frame.length} values, shape [${shape.join(', ')}] needs ${shape[0] * 2}`);
      }
    });
    return scatterFrames(frames, { size: 384, crisp: true, ...options.scatter, titles: frames.map((_, i) => title(i)) });
  }
  if (shape.length !== 4) throw new Error(`denoisingAnimation: shape must be [N, C, H, W] (images) or [N, 2] (points), got [${shape.join(', ')}]`);
  frames.forEach((frame, i) => checkImageShape(`denoisingAnimation: frame ${i}`, frame, shape));
  return Promise.all(frames.map((frame, i) => imageGrid(frame, shape, { ...options.grid, title: title(i) })));
}
