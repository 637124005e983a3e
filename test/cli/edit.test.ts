/**
 * The editing commands, run for real: `ddpm sample --init --strength` (img2img), `--init --mask` (RePaint
 * inpainting), `ddpm interpolate` between seeds and pictures, on the shipped digit model (few steps) and on a tiny
 * 32x32 model (digits padded: a 28x28 picture is padded as in training); and every bad input as one line naming
 * the flag, the value and what is allowed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, encodeModel, init } from '../../bindings/index.ts';
import { decodeNpy } from '../../bindings/io/npy.ts';
import { ddpm, ensureBuilt, expectErrors, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

/** A grey 28x28 digit-like picture: a ring (a zero). */
const ring = Uint8Array.from({ length: 28 * 28 }, (_, i) => {
  const r = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
  return r > 6 && r < 9 ? 255 : 0;
});
/** White keeps the top half. */
const topHalf = Uint8Array.from({ length: 28 * 28 }, (_, i) => (Math.floor(i / 28) < 14 ? 255 : 0));

async function png(name: string, bytes: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<void> {
  writeFileSync(join(cwd, name), await sharp(Buffer.from(bytes), { raw: { width, height, channels } }).png().toBuffer());
}

test('setup: pictures, a tiny padded 32x32 digit model and a 2-D toy model', async () => {
  await png('ring.png', ring, 28, 28, 1);
  await png('top-half.png', topHalf, 28, 28, 1);
  await png('ring-rgb.png', Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => ring[Math.floor(i / 3)]), 28, 28, 3);
  await png('red.png', Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => (i % 3 === 0 ? 200 : 0)), 28, 28, 3);
  await png('big.png', new Uint8Array(40 * 40), 40, 40, 1);
  await png('see-through.png', Uint8Array.from({ length: 28 * 28 * 2 }, (_, i) => (i % 2 ? 100 : 0)), 28, 28, 2);
  await png('white.png', new Uint8Array(28 * 28).fill(255), 28, 28, 1);
  writeFileSync(join(cwd, 'not-a-picture.png'), 'hello');
  const runs = await Promise.all([
    ddpm(['train', '--data', 'mnist', '--class-cond', '--image-size', '32', '--channels', '8,8', '--batch', '4', '--steps', '2', '--sample-every', '0', '--out', 'padded'], cwd),
    ddpm(['train', '--data', 'moons', '--batch', '16', '--steps', '3', '--sample-every', '0', '--out', 'toy'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
  // The padded model as `ddpm distill` records a student (its sampling: DDIM, 4 steps), for the editing flags' checks.
  await init();
  const { model, metadata } = decodeModel(readFileSync(join(cwd, 'padded', 'model.safetensors')));
  const sampling = { sampler: 'ddim', steps: 4, timestepSpacing: 'trailing', guidanceScale: 1, distilledFrom: { steps: 8, guidanceScale: 1 } } as const;
  writeFileSync(join(cwd, 'distilled.safetensors'), encodeModel(model, { scheduler: metadata.scheduler, data: metadata.data, training: metadata.training, sampling }));
});

const shipped = ['--model', 'mnist', '--class', '0'];

test('img2img: --init --strength writes the edits; batches do not change them; an RGB picture of a grey digit is read as grey', async () => {
  const common = [...shipped, '--init', 'ring.png', '--strength', '0.5', '--steps', '6', '--num', '3'];
  const [whole, split, rgb] = await Promise.all([
    ddpm(['sample', ...common, '--out', 'img2img.npy'], cwd),
    ddpm(['sample', ...common, '--batch', '1', '--workers', '1', '--out', 'img2img-split.npy'], cwd),
    ddpm(['sample', ...common.map((a) => (a === 'ring.png' ? 'ring-rgb.png' : a)), '--out', 'img2img-rgb.npy'], cwd),
  ]);
  for (const run of [whole, split, rgb]) assert.is(run.code, 0, run.stderr);
  assert.match(whole.stdout, /wrote img2img\.npy: 3 images from .*UNIPC img2img, strength 0\.5 6 steps/);
  const read = (name: string) => decodeNpy(readFileSync(join(cwd, name)));
  const { data, shape } = read('img2img.npy');
  assert.equal(shape, [3, 1, 28, 28]);
  assert.equal(Array.from(read('img2img-split.npy').data), Array.from(data), '--batch 1 gives the same samples');
  assert.equal(Array.from(read('img2img-rgb.npy').data), Array.from(data), 'the same picture stored as RGB');
  // The edit stays near the picture (strength 0.5 keeps the ring's shape): closer to it than to its negative.
  const near = data.subarray(0, 784).reduce((s, v, i) => s + Math.abs(v - ring[i] / 255), 0);
  const far = data.subarray(0, 784).reduce((s, v, i) => s + Math.abs(v - (1 - ring[i] / 255)), 0);
  assert.ok(near < far / 2, `mean distance to the ring ${near / 784}, to its negative ${far / 784}`);
});

test('inpainting: --init --mask keeps the white-masked pixels exactly and paints the rest; a 28x28 picture pads a 32x32 model', async () => {
  const [shippedRun, padded] = await Promise.all([
    ddpm(['sample', ...shipped, '--init', 'ring.png', '--mask', 'top-half.png', '--steps', '8', '--jump-length', '2', '--jump-n-sample', '2', '--num', '2', '--out', 'inpaint.npy', '--animate', 'inpaint.gif'], cwd),
    ddpm(['sample', '--model', join('padded', 'model.safetensors'), '--class', '1', '--init', 'ring.png', '--mask', 'top-half.png', '--steps', '4', '--num', '1', '--out', 'padded.npy'], cwd),
  ]);
  assert.is(shippedRun.code, 0, shippedRun.stderr);
  assert.match(shippedRun.stdout, /RePaint \(jumps 2 x 2\) 8 steps/);
  assert.is(readFileSync(join(cwd, 'inpaint.gif')).subarray(0, 4).toString(), 'GIF8');
  for (const [name, shape] of [['inpaint.npy', [2, 1, 28, 28]], ['padded.npy', [1, 1, 28, 28]]] as const) {
    const { data, shape: got } = decodeNpy(readFileSync(join(cwd, name)));
    assert.equal(got, shape);
    let painted = 0;
    for (let n = 0; n < shape[0]; n++) {
      for (let i = 0; i < 784; i++) {
        const v = data[n * 784 + i];
        if (topHalf[i]) assert.ok(Math.abs(v - ring[i] / 255) < 1e-6, `${name}: kept pixel ${i} is ${v}, the picture's ${ring[i] / 255}`);
        else if (Math.abs(v - ring[i] / 255) > 0.01) painted++;
      }
    }
    assert.ok(painted > 0, `${name}: the bottom half was painted`);
  }
  assert.is(padded.code, 0, padded.stderr);
});

test('a distilled model edits with img2img and interpolates in its recorded steps; inpainting (RePaint) and other steps are refused for it', async () => {
  const run = await ddpm(['sample', '--model', 'distilled.safetensors', '--class', '1', '--init', 'ring.png', '--strength', '0.5', '--num', '1', '--out', 'distilled.npy'], cwd);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /DDIM img2img, strength 0\.5 4 steps/);
  const strip = await ddpm(['interpolate', '--model', 'distilled.safetensors', '--class', '1', '--from-seed', '1', '--to-seed', '2', '--frames', '3', '--out', 'distilled-strip.png'], cwd);
  assert.is(strip.code, 0, strip.stderr);
  assert.match(strip.stdout, /DDIM 4 steps/, 'interpolate samples a distilled model in its recorded steps');
  await expectErrors(cwd, [
    [['sample', '--model', 'distilled.safetensors', '--class', '1', '--init', 'ring.png', '--mask', 'top-half.png', '--out', 'x.png'],
      '--mask top-half.png', 'was distilled for ddim in 4 steps', 'inpaint with the model it was distilled from'],
    [['interpolate', '--model', 'distilled.safetensors', '--from-seed', '1', '--to-seed', '2', '--steps', '50', '--out', 'x.png'],
      '--steps 50', 'was distilled for ddim in 4 steps', 'leave --steps out'],
    [['interpolate', '--model', 'distilled.safetensors', '--class', '1', '--guidance', '3', '--from-seed', '1', '--to-seed', '2', '--out', 'x.png'],
      '--guidance 3', 'distilled to sample at guidance 1', 'leave --guidance out'],
  ]);
});

test('ddpm interpolate: seeds to a strip, pictures (inverted) to an animation there and back', async () => {
  const [seeds, pictures] = await Promise.all([
    ddpm(['interpolate', '--model', 'mnist', '--from-seed', '1', '--to-seed', '2', '--class', '3', '--frames', '4', '--steps', '5', '--out', 'strip.png'], cwd),
    ddpm(['interpolate', '--model', 'mnist', '--from-image', 'ring.png', '--to-seed', '5', '--frames', '3', '--steps', '4', '--out', 'morph.gif'], cwd),
  ]);
  assert.is(seeds.code, 0, seeds.stderr);
  assert.match(seeds.stdout, /wrote strip\.png: 4 frames from seed 1 to seed 2, .*DDIM 5 steps/);
  const strip = await sharp(join(cwd, 'strip.png')).metadata();
  // One row of four 28x28 frames drawn 3 times larger (84 px), with captions under them.
  assert.ok(strip.width! >= 4 * 84 && strip.height! < 2 * 84, `a strip of 4 frames side by side: ${strip.width}x${strip.height}`);
  assert.is(pictures.code, 0, pictures.stderr);
  assert.match(pictures.stdout, /wrote morph\.gif: 3 frames from ring\.png to seed 5/);
  const gif = await sharp(join(cwd, 'morph.gif'), { animated: true }).metadata();
  assert.is(gif.pages, 4, 'frames 0, 1, 2, then 1 on the way back');
  const help = await ddpm(['interpolate', '--help'], cwd);
  for (const part of ['--from-seed', '--to-image', '--frames', 'slerp']) assert.ok(help.stdout.includes(part), part);
  const sampleHelp = await ddpm(['sample', '--help'], cwd);
  const text = sampleHelp.stdout.replace(/\s+/g, ' ');
  for (const part of ['--init', '--strength', '--mask', 'white keeps a pixel, black is painted', '--jump-n-sample']) assert.ok(text.includes(part), part);
});

test('bad editing input: one line naming the flag, the value and what is allowed', async () => {
  const sample = (...args: string[]) => ['sample', ...shipped, '--out', 'x.png', ...args];
  await expectErrors(cwd, [
    [sample('--init', 'ring.png', '--strength', '0'), "'--strength <s>'", "'0'", '(0, 1]'],
    [sample('--init', 'ring.png', '--strength', '1.5'), "'--strength <s>'", "'1.5'", '(0, 1]'],
    [sample('--init', 'ring.png', '--strength', 'lots'), "'--strength <s>'", "'lots'", '(0, 1]'],
    [sample('--strength', '0.5'), '--strength', 'give it with --init'],
    [sample('--mask', 'top-half.png'), '--mask', 'give it with --init'],
    [sample('--init', 'ring.png', '--jump-length', '3'), '--jump-length', 'give a --mask'],
    [sample('--init', 'ring.png', '--strength', '0.05', '--steps', '10'), '--strength 0.05 with --steps 10 runs no step', 'at least 0.1', 'at least 20'],
    [sample('--init', 'big.png'), '--init big.png is 40x40', 'the model draws 28x28 images'],
    [sample('--init', 'red.png'), '--init red.png is a colour picture (RGB)', 'greyscale'],
    [sample('--init', 'see-through.png'), '--init see-through.png has transparent pixels'],
    [sample('--init', 'no-such.png'), '--init no-such.png: no such file'],
    [sample('--init', 'not-a-picture.png'), '--init not-a-picture.png: not a picture'],
    [sample('--init', 'ring.png', '--mask', 'big.png'), '--mask big.png is 40x40', '28x28'],
    [sample('--init', 'ring.png', '--mask', 'red.png'), '--mask red.png is a colour picture', 'white keeps'],
    [sample('--init', 'ring.png', '--mask', 'white.png'), '--mask white.png is white everywhere: nothing to paint'],
    [sample('--init', 'ring.png', '--mask', 'top-half.png', '--strength', '0.5'), '--strength 0.5: inpainting (--mask)', 'img2img'],
    [sample('--init', 'ring.png', '--mask', 'top-half.png', '--sampler', 'ddim'), '--sampler ddim: inpainting (--mask) samples with RePaint'],
    [sample('--init', 'ring.png', '--mask', 'top-half.png', '--jump-length', '0'), "'--jump-length <j>'", "'0'", 'integer >= 1'],
    [sample('--init', 'ring.png', '--workers', '2'), '--workers 2: editing a picture (--init) samples on one thread', 'leave out --workers'],
    [sample('--init', 'ring.png', '--mask', 'top-half.png', '--workers', '3'), '--workers 3', 'one thread'],
    [sample('--init', 'ring.png', '--sampler', 'euler', '--eta', '0.5'), '--eta applies to --sampler ddim and to inpainting (--mask), not euler'],
    [['sample', '--model', join('toy', 'model.safetensors'), '--out', 'x.png', '--init', 'ring.png'], '--init: the model draws 2-D points, not images'],
    [['sample', '--model', join('padded', 'model.safetensors'), '--class', '1', '--out', 'x.png', '--init', 'big.png'], '--init big.png is 40x40', '32x32 (or 28x28, the digit without the padding)'],
  ]);
  const interpolate = (...args: string[]) => ['interpolate', '--model', 'mnist', '--out', 'x.png', ...args];
  await expectErrors(cwd, [
    [interpolate('--to-seed', '2'), 'the first frame is missing', '--from-seed <s> or --from-image <picture>'],
    [interpolate('--from-seed', '1', '--from-image', 'ring.png', '--to-seed', '2'), '--from-seed 1 and --from-image ring.png: give one of them'],
    [interpolate('--from-seed', '1', '--to-seed', '2', '--guidance', '3'), '--guidance 3 needs --class'],
    [interpolate('--from-seed', '1', '--to-seed', '2', '--frames', '1'), "'--frames <n>'", "'1'", 'from 2 to 256'],
    [interpolate('--from-seed', '1', '--to-image', 'red.png'), '--to-image red.png is a colour picture'],
    [interpolate('--from-seed', '1', '--to-seed', '2', '--class', '12'), '--class 12', 'no such class'],
    [['interpolate', '--model', 'mnist', '--out', 'x.jpg', '--from-seed', '1', '--to-seed', '2'], '--out x.jpg', '.png or .gif or .webp'],
  ]);
});

test.after(() => temp.remove());

test.run();
