/**
 * `ddpm sample --cond-image FILE`: the conditioning images of a model conditioned by concatenation (a colorize or
 * superres model: bindings/data/conditioned.ts), read from a PNG/JPEG/WebP picture (one image, for every sample)
 * or a .npy array in [0, 1] ([C, H, W] or [N, C, H, W], one per sample, as `ddpm sample` writes them), checked
 * against the shape the model's file says its inputs have, and made into the model's conditions.
 */
import { readFile } from 'node:fs/promises';
import { conditionFromInput, decodeNpy, Tensor, tidy, type ConditionTask, type ModelMetadata } from '../bindings/index.ts';
import { fail } from './errors.ts';
import { shown } from './options.ts';

type Condition = NonNullable<ModelMetadata['data']['condition']>;

const what = (task: string) => (task === 'colorize' ? 'grey digits to colour' : task === 'superres' ? 'low-resolution images to enlarge 2x' : `'${task}' inputs`);

/** The conditions [num, ...condition.shape] flat, from --cond-image; `num` is --num, or null to take the file's count. */
export async function readConditionImages(path: string, condition: Condition, num: number | null): Promise<{ values: Float32Array; count: number }> {
  const [C, H, W] = condition.inputShape;
  const input = /\.npy$/i.test(path) ? await fromNpy(path, condition) : await fromPicture(path, condition);
  const count = input.length / (C * H * W);
  if (count !== 1 && num !== null && count !== num) fail(`--cond-image ${shown(path)} holds ${count} images; --num ${num} needs 1 (for every sample) or ${num}`);
  const total = num ?? count;
  const values = tidy(() => {
    const inputs = Tensor.from(input, [count, C, H, W]);
    return conditionFromInput(condition.task as ConditionTask, inputs).toFloat32Array();
  });
  if (count === total) return { values, count: total };
  const out = new Float32Array(total * values.length);
  for (let n = 0; n < total; n++) out.set(values, n * values.length);
  return { values: out, count: total };
}

/** A picture as values in [-1, 1], [C, H, W]: its size and channels must be the model's. */
async function fromPicture(path: string, condition: Condition): Promise<Float32Array> {
  const [C, H, W] = condition.inputShape;
  const { default: sharp } = await import('sharp');
  let bytes: Uint8Array, meta: { width?: number; height?: number; channels?: number };
  try {
    bytes = await readFile(path);
    meta = await sharp(bytes).metadata();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(`--cond-image ${shown(path)}: ${code === 'ENOENT' ? 'no such file' : `not a picture sharp can read (${(error as Error).message})`}`);
  }
  const { width, height, channels = 0 } = meta!;
  if (width !== W || height !== H) {
    fail(`--cond-image ${shown(path)} is ${width}x${height}; the model takes ${W}x${H} ${what(condition.task)} (${C === 1 ? 'grey' : 'RGB'})`);
  }
  // Alpha is ignored: grey (1) or grey + alpha (2) for a 1-channel input; RGB (3) or RGBA (4) for a 3-channel one.
  const colour = channels >= 3 ? 3 : 1;
  if (colour !== C) {
    fail(`--cond-image ${shown(path)} has ${channels} channel${channels > 1 ? 's' : ''} (${colour === 3 ? 'colour' : 'grey'}); ` +
      `the model takes ${C === 1 ? 'a grey (1-channel)' : `a ${C}-channel`} image`);
  }
  const image = sharp(bytes!).removeAlpha();
  const data = await (C === 1 ? image.grayscale() : image.toColourspace('srgb')).raw().toBuffer();
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < H * W; i++) out[c * H * W + i] = data[i * C + c] / 127.5 - 1;
  }
  return out;
}

/** A .npy of values in [0, 1], [C, H, W] or [N, C, H, W], as values in [-1, 1]. */
async function fromNpy(path: string, condition: Condition): Promise<Float32Array> {
  const [C, H, W] = condition.inputShape;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    fail(`--cond-image ${shown(path)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let array: { data: Float32Array; shape: number[] };
  try {
    array = decodeNpy(bytes!, shown(path));
  } catch (error) {
    fail(`--cond-image ${(error as Error).message}`);
  }
  const shape = array!.shape, image = shape.slice(-3);
  if ((shape.length !== 3 && shape.length !== 4) || image.join() !== [C, H, W].join()) {
    fail(`--cond-image ${shown(path)} is [${shape.join(', ')}]; the model takes [${C}, ${H}, ${W}] ${what(condition.task)} (or [N, ${C}, ${H}, ${W}], values in [0, 1])`);
  }
  const bad = array!.data.findIndex((v) => !(v >= 0 && v <= 1));
  if (bad >= 0) fail(`--cond-image ${shown(path)} holds ${array!.data[bad]} at element ${bad}; values are in [0, 1] (as ddpm sample writes .npy)`);
  return array!.data.map((v) => 2 * v - 1);
}
