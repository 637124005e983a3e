import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { init, tidy } from '../../bindings/index.ts';
import { imageFolderDataset } from '../../bindings/data/folder.ts';
import type { ArrayDataset } from '../../bindings/data/dataset.ts';

await init();

const root = await mkdtemp(join(tmpdir(), 'ddpm-folder-test-'));
const folder = async (...parts: string[]) => {
  const path = join(root, ...parts);
  await mkdir(path, { recursive: true });
  return path;
};

/** A solid picture of one colour (0-255 per channel) in the format its extension names. */
async function solid(path: string, rgb: [number, number, number], width = 6, height = 6): Promise<void> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  const ext = path.slice(path.lastIndexOf('.')).toLowerCase();
  const encoded = ext === '.png' ? image.png() : ext === '.webp' ? image.webp({ lossless: true }) : image.jpeg({ quality: 100 });
  await encoded.toFile(path);
}

/** Every sample of the dataset as arrays of values, with the labels. */
function contents(dataset: ArrayDataset): { samples: number[][]; labels: number[] | null } {
  return tidy(() => {
    const { x, labels } = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
    const values = x.toFloat32Array(), size = values.length / dataset.size;
    const samples = Array.from({ length: dataset.size }, (_, i) => Array.from(values.subarray(i * size, (i + 1) * size)));
    return { samples, labels: labels ? Array.from(labels) : null };
  });
}

/** Asserts that `promise` rejects with exactly `message`. */
async function rejects(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(() => null, (e: Error) => e);
  assert.ok(error, `expected a rejection with: ${message}`);
  assert.is(error!.message, message);
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

test('pictures directly in the folder: sorted by path, any accepted extension and case, mapped to [-1, 1] NCHW', async () => {
  const path = await folder('flat');
  await solid(join(path, 'b.png'), [255, 0, 51]);
  await solid(join(path, 'a.png'), [0, 255, 255]);
  await solid(join(path, 'C.PNG'), [128, 128, 128]);
  await solid(join(path, 'd.jpg'), [200, 200, 200]);
  await solid(join(path, 'e.WebP'), [20, 20, 20], 9, 5);
  await writeFile(join(path, 'notes.txt'), 'not a picture');
  await solid(join(path, '.hidden.png'), [1, 2, 3]);
  const dataset = await imageFolderDataset(path, { imageSize: 3 });
  assert.is(dataset.size, 5);
  assert.equal(dataset.sampleShape, [3, 3, 3]);
  assert.is(dataset.numClasses, 0);
  assert.is(dataset.name, 'flat');
  const { samples, labels } = contents(dataset);
  assert.is(labels, null);
  // 'C.PNG' < 'a.png' < 'b.png' < 'd.jpg' < 'e.WebP' by code unit. PNG and lossless WebP are exact: b / 127.5 - 1.
  assert.equal(samples[0], new Array(27).fill(128 / 127.5 - 1).map(Math.fround));
  assert.equal(samples[1], [...new Array(9).fill(-1), ...new Array(18).fill(1)]);
  assert.equal(samples[2], [...new Array(9).fill(1), ...new Array(9).fill(-1), ...new Array(9).fill(Math.fround(51 / 127.5 - 1))]);
  assert.ok(Math.abs(mean(samples[3]) - (200 / 127.5 - 1)) < 0.02, `the JPEG's mean is ${mean(samples[3])}`);
  assert.equal(samples[4], new Array(27).fill(Math.fround(20 / 127.5 - 1)));
});

test('channels 1 converts to grey; pictures are cover-cropped to the centre, not squashed', async () => {
  const path = await folder('crop');
  // 12 x 4: black | white | black in three 4 x 4 squares: cover keeps the centre square only.
  const bands = new Uint8Array(12 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 4; x < 8; x++) bands.fill(255, (y * 12 + x) * 3, (y * 12 + x) * 3 + 3);
  await sharp(bands, { raw: { width: 12, height: 4, channels: 3 } }).png().toFile(join(path, 'bands.png'));
  const dataset = await imageFolderDataset(path, { imageSize: 2, channels: 1 });
  assert.equal(dataset.sampleShape, [1, 2, 2]);
  // Squashing the whole picture would give two thirds black; the resampling filter lets a little black in.
  const values = contents(dataset).samples[0];
  assert.is(values.length, 4);
  assert.ok(values.every((v) => v > 0.8), `the centre is white: ${values}`);
});

test('sub-folders are classes in sorted order; a corrupt picture is skipped with a warning naming it', async () => {
  const path = await folder('classes');
  await folder('classes', 'dogs');
  await folder('classes', 'cats');
  await folder('classes', 'empty');
  await solid(join(path, 'dogs', '2.png'), [255, 255, 255]);
  await solid(join(path, 'dogs', '1.jpeg'), [0, 0, 0], 8, 8);
  await solid(join(path, 'cats', 'x.webp'), [255, 0, 0]);
  await writeFile(join(path, 'cats', 'broken.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  await writeFile(join(path, 'README.md'), 'a readme at the top level is fine');
  const warnings: string[] = [];
  const dataset = await imageFolderDataset(path, { imageSize: 4, onWarning: (message) => warnings.push(message) });
  assert.equal(dataset.classNames, ['cats', 'dogs']);
  assert.is(dataset.numClasses, 2);
  assert.is(dataset.size, 3);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], `imageFolderDataset: skipped ${join(path, 'cats', 'broken.png')}: it cannot be decoded (`);
  assert.not.match(warnings[0], '\n');
  const { samples, labels } = contents(dataset);
  assert.equal(labels, [0, 1, 1]); // cats/x.webp, dogs/1.jpeg, dogs/2.png
  assert.is(samples[0][0], 1); // red
  assert.ok(mean(samples[1]) < -0.98, 'dogs/1.jpeg is black');
  assert.equal(samples[2], new Array(48).fill(1));
});

test('a class whose pictures all fail to decode is warned about', async () => {
  const path = await folder('lost-class');
  await folder('lost-class', 'a');
  await folder('lost-class', 'b');
  await solid(join(path, 'a', '1.png'), [9, 9, 9]);
  await writeFile(join(path, 'b', '1.jpg'), 'garbage');
  const warnings: string[] = [];
  const dataset = await imageFolderDataset(path, { imageSize: 2, onWarning: (message) => warnings.push(message) });
  assert.is(dataset.size, 1);
  assert.equal(dataset.classNames, ['a', 'b']);
  assert.is(warnings.length, 2);
  assert.match(warnings[1], `imageFolderDataset: ${path}: no picture of class b could be decoded`);
});

test('errors: one clear line each', async () => {
  const missing = join(root, 'missing');
  await rejects(imageFolderDataset(missing, { imageSize: 8 }), `imageFolderDataset: cannot read the folder ${missing}: no such folder`);
  const file = join(await folder('file'), 'a.png');
  await solid(file, [0, 0, 0]);
  await rejects(imageFolderDataset(file, { imageSize: 8 }), `imageFolderDataset: cannot read the folder ${file}: it is not a folder`);

  const empty = await folder('no-pictures');
  await writeFile(join(empty, 'a.txt'), 'text');
  await folder('no-pictures', 'sub');
  await rejects(imageFolderDataset(empty, { imageSize: 8 }), `imageFolderDataset: ${empty} holds no pictures (accepted: .png, .jpg, .jpeg, .webp, in the folder itself or in one sub-folder per class)`);

  const mixed = await folder('mixed');
  await folder('mixed', 'class');
  await solid(join(mixed, 'top.png'), [0, 0, 0]);
  await solid(join(mixed, 'class', 'in.png'), [0, 0, 0]);
  await rejects(imageFolderDataset(mixed, { imageSize: 8 }), `imageFolderDataset: ${mixed} has both pictures at its top level (top.png) and class sub-folders (class): move the top-level pictures into a sub-folder, or remove them`);

  const broken = await folder('all-broken');
  await writeFile(join(broken, 'a.png'), 'not a png');
  await rejects(imageFolderDataset(broken, { imageSize: 8, onWarning: () => {} }), `imageFolderDataset: ${broken}: none of its 1 pictures could be decoded`);

  for (const imageSize of [0, -4, 2.5, NaN]) {
    await rejects(imageFolderDataset(mixed, { imageSize }), `imageFolderDataset: imageSize must be a positive integer, got ${imageSize}`);
  }
  await rejects(imageFolderDataset(mixed, { imageSize: 8, channels: 2 }), 'imageFolderDataset: channels must be 1 (grey) or 3 (RGB), got 2');
});

/**
 * Root reads every folder, so as root the unreadable case is checked by a child process running as the
 * unprivileged 'nobody'. That child must itself be able to read the checkout (it loads the library): when it
 * cannot (a checkout inside a folder closed to others), the test is registered as skipped, with the reason.
 */
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const childCannotRead = asRoot
  ? spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(fileURLToPath(new URL('../../bindings/data/folder.ts', import.meta.url)))})`],
    { uid: NOBODY, gid: NOBODY, encoding: 'utf8' }).status !== 0
  : false;
const unreadableTest = childCannotRead ? test.skip : test;
if (childCannotRead) console.log("test/data/folder: skipping the permission test: as root it runs as 'nobody', who cannot read this checkout");

unreadableTest('an unreadable folder says permission denied (as root too: read by an unprivileged child process)', async () => {
  const locked = await folder('locked');
  await chmod(locked, 0o000);
  try {
    const expected = `imageFolderDataset: cannot read the folder ${locked}: permission denied`;
    if (!asRoot) {
      await rejects(imageFolderDataset(locked, { imageSize: 8 }), expected);
      return;
    }
    await chmod(root, 0o755);
    const script = `import(${JSON.stringify(new URL('../../bindings/data/folder.ts', import.meta.url).href)})
      .then((m) => m.imageFolderDataset(${JSON.stringify(locked)}, { imageSize: 8 })).then(() => console.log('no error'), (e) => console.log(e.message))`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      uid: NOBODY, gid: NOBODY, encoding: 'utf8', env: { ...process.env, HOME: tmpdir() },
    });
    assert.is(child.stdout.trim(), expected, `child stderr: ${child.stderr}`);
  } finally {
    await chmod(locked, 0o755);
  }
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test.run();
