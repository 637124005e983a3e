/**
 * The shipped attribute model (models/colored-mnist-attributes.safetensors: digit and colour as separate labels,
 * guidance composed per attribute) draws the colour it is asked for, whether or not a digit is named, and leaves
 * the colour free when only the digit is named. Colours are judged by evaluation/colors.ts; the digits need the
 * judge trained on real digits, so they are measured by scripts/evaluate-attributes.ts (README, The shipped models)
 * and not here. DDIM-20, guidance 3, a few samples per request keep the suite fast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DDIMScheduler, DiffusionPipeline, decodeModel, disposeModel, encodeAttributes, init, type Denoiser } from '../../bindings/index.ts';
import { PALETTE } from '../../bindings/node.ts';
import { classifyColors } from '../../evaluation/colors.ts';
import { ROOT } from '../cli/helpers.ts';

await init();

const path = join(ROOT, 'models', 'colored-mnist-attributes.safetensors');
const { model, metadata } = decodeModel(readFileSync(path), path);
const pipeline = new DiffusionPipeline({ model: model as Denoiser, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
const SIZES = [10, PALETTE.length], ANY_DIGIT = 10, ANY_COLOR = PALETTE.length, PLANE = 28 * 28;

/** The colour read from each sample drawn for the (digit, colour) requests; -1 where no palette colour is read. */
async function colorsDrawn(requests: [number, number][], seed: number): Promise<Int32Array> {
  const images = await pipeline.generate({
    batchSize: requests.length, numInferenceSteps: 20, seed, guidanceScale: [3, 3],
    classLabels: Int32Array.from(requests, (values) => encodeAttributes(values, SIZES)),
  });
  try {
    return classifyColors(images.toFloat32Array(), PLANE);
  } finally {
    images.dispose();
  }
}

const each = <T>(count: number, make: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));

test("'anything c' and 'a c d': every sample in the colour asked for", async () => {
  const anything = each(4 * PALETTE.length, (i): [number, number] => [ANY_DIGIT, i % PALETTE.length]);
  const pairs = each(PALETTE.length, (c): [number, number] => [(3 * c + 1) % 10, c]);
  const requests = [...anything, ...pairs];
  const colors = await colorsDrawn(requests, 1);
  requests.forEach(([digit, color], i) =>
    assert.is(colors[i], color, `sample ${i} (${digit === ANY_DIGIT ? 'any digit' : `digit ${digit}`}, ${PALETTE[color].name}): read ${colors[i] < 0 ? 'no palette colour' : PALETTE[colors[i]].name}`));
});

test("'a d in any color': the colour is left free (at least four of the six drawn over 20 samples)", async () => {
  const colors = await colorsDrawn(each(20, (i): [number, number] => [i % 10, ANY_COLOR]), 2);
  colors.forEach((c, i) => assert.ok(c >= 0, `sample ${i}: its stroke is not one of the six colours`));
  assert.ok(new Set(colors).size >= 4, `colours drawn: ${Array.from(colors, (c) => PALETTE[c].name).join(', ')}`);
});

test.after(() => disposeModel(model));
test.run();
