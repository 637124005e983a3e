/**
 * The pictures the editing flags read (`ddpm sample --init --mask`, `ddpm interpolate --from-image --to-image`),
 * decoded with sharp and checked against the model before anything runs: the model's own image size (digit
 * models padded beyond 28x28 also take the 28x28 digit, padded as in training: black image, kept mask), its
 * channel count (greyscale models: a greyscale picture, or an RGB one whose three channels are equal; RGB models:
 * RGB), and no transparency. Bytes become values as in training: b / 127.5 - 1. A mask is greyscale, binarised
 * as diffusers' RePaintPipeline does (a byte of 128 or more keeps the pixel: white keeps, black is painted).
 */
import { existsSync, statSync } from 'node:fs';
import type { ModelMetadata } from '../bindings/index.ts';
import { fail } from './errors.ts';
import { layoutOf } from './generate.ts';

/** A decoded picture: interleaved bytes, its size and its colour channels (alpha dropped, checked opaque). */
interface Picture { bytes: Uint8Array; width: number; height: number; channels: number; colour: 1 | 3 }

/** An image for a model: [C, H, W] values in [-1, 1] of the model's sample shape. */
export async function readInitImage(flag: string, path: string, data: ModelMetadata['data']): Promise<Float32Array> {
  const [C, H, W] = imageShape(flag, data);
  const picture = await decode(flag, path);
  if (C === 3 && picture.colour === 1) fail(`${flag} ${path} is a greyscale picture; the model draws RGB images: give an RGB picture`);
  if (C === 1 && picture.colour === 3 && !isGrey(picture)) {
    fail(`${flag} ${path} is a colour picture (RGB); the model draws greyscale images: give a greyscale picture (1 channel)`);
  }
  const pad = padding(flag, path, picture, data);
  const out = new Float32Array(C * H * W).fill(-1);
  for (let y = 0; y < picture.height; y++) {
    for (let x = 0; x < picture.width; x++) {
      const at = (y * picture.width + x) * picture.channels;
      for (let c = 0; c < C; c++) out[(c * H + y + pad) * W + x + pad] = picture.bytes[at + (picture.colour === 1 ? 0 : c)] / 127.5 - 1;
    }
  }
  return out;
}

/** A mask for a model: [1, H, W] of 1 (white: keep) and 0 (black: paint). */
export async function readMask(flag: string, path: string, data: ModelMetadata['data']): Promise<Float32Array> {
  const [, H, W] = imageShape(flag, data);
  const picture = await decode(flag, path);
  if (picture.colour === 3 && !isGrey(picture)) fail(`${flag} ${path} is a colour picture; a mask is greyscale: white keeps a pixel, black paints it`);
  const pad = padding(flag, path, picture, data);
  const out = new Float32Array(H * W).fill(1);
  let kept = 0;
  for (let y = 0; y < picture.height; y++) {
    for (let x = 0; x < picture.width; x++) {
      const keep = picture.bytes[(y * picture.width + x) * picture.channels] >= 128 ? 1 : 0;
      out[(y + pad) * W + x + pad] = keep;
      kept += keep;
    }
  }
  if (kept === picture.width * picture.height) fail(`${flag} ${path} is white everywhere: nothing to paint (white keeps a pixel, black paints it)`);
  return out;
}

/** The model's image shape [C, H, W]; a model of 2-D points takes no pictures. */
function imageShape(flag: string, data: ModelMetadata['data']): number[] {
  const shape = data.sampleShape;
  if (shape.length !== 3) fail(`${flag}: the model draws ${shape.length === 1 ? `${shape[0]}-D points` : `samples [${shape.join(', ')}]`}, not images`);
  return shape as number[];
}

async function decode(flag: string, path: string): Promise<Picture> {
  if (!existsSync(path)) fail(`${flag} ${path}: no such file`);
  if (!statSync(path).isFile()) fail(`${flag} ${path}: not a file`);
  const { default: sharp } = await import('sharp');
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(path, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    fail(`${flag} ${path}: not a picture sharp can read (${(error as Error).message.split('\n')[0]})`);
  }
  const { data, info: { width, height, channels } } = raw;
  const alpha = channels === 2 || channels === 4;
  if (alpha) {
    for (let i = channels - 1; i < data.length; i += channels) {
      if (data[i] !== 255) fail(`${flag} ${path} has transparent pixels: save it opaque (on a black background)`);
    }
  }
  const colour = alpha ? channels - 1 : channels;
  if (colour !== 1 && colour !== 3) fail(`${flag} ${path} has ${channels} channels; expected greyscale or RGB`);
  return { bytes: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels, colour: colour as 1 | 3 };
}

/** Whether every pixel of an RGB picture has three equal channels (a greyscale picture stored as RGB). */
function isGrey({ bytes, channels }: Picture): boolean {
  for (let i = 0; i < bytes.length; i += channels) if (bytes[i] !== bytes[i + 1] || bytes[i] !== bytes[i + 2]) return false;
  return true;
}

/** The border added around a picture of the data's own size (digits in a padded model); fails on any other size. */
function padding(flag: string, path: string, picture: Picture, data: ModelMetadata['data']): number {
  const [, H, W] = data.sampleShape;
  if (picture.width === W && picture.height === H) return 0;
  const own = layoutOf(data, 1).shape;
  const [h, w] = [own[2], own[3]];
  if ((h !== H || w !== W) && picture.width === w && picture.height === h) return (H - h) / 2;
  const sizes = h !== H || w !== W ? `${W}x${H} (or ${w}x${h}, the digit without the padding)` : `${W}x${H}`;
  fail(`${flag} ${path} is ${picture.width}x${picture.height}; the model draws ${sizes} images`);
}
