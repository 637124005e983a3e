/**
 * RePaint inpainting against the real diffusers v0.27.2 RePaintPipeline (test/fixtures/editing-loops.json's
 * `repaintPipeline`, made by scripts/fixtures/editing.py): the tiny UNet of test/fixtures/ddim-torch-noise, an
 * image and a one-channel mask, a CPU generator. Our RePaintPipeline with generator 'torch' draws as diffusers
 * does (x_T, then one draw per step and T / n per undo step, from the one generator), so the images agree to
 * float32 precision; and the pixels the mask keeps are the image's own, bit for bit.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, RePaintPipeline, RePaintScheduler, Tensor } from '../../bindings/index.ts';
import { decodeFloat32 } from '../helpers.ts';
import { loadTinyUNet, toImages } from './tiny-unet.ts';

await init();

const fixture = JSON.parse(readFileSync(new URL('../fixtures/editing-loops.json', import.meta.url), 'utf8')).repaintPipeline;
const decode = decodeFloat32;
interface Run { name: string; steps: number; jumpLength: number; jumpNSample: number; eta: number; seed: number; images: string }

test('RePaintPipeline with generator \'torch\' gives diffusers\' images (within 1e-5) and keeps the masked pixels exactly', async () => {
  const model = loadTinyUNet();
  const image = Tensor.from(decode(fixture.image), fixture.imageShape);
  const mask = Tensor.from(decode(fixture.mask), fixture.maskShape);
  const [N, C, H, W] = fixture.imageShape as number[];
  const maskValues = decode(fixture.mask), imageValues = decode(fixture.image);
  for (const run of fixture.runs as Run[]) {
    const pipe = new RePaintPipeline({ model, scheduler: new RePaintScheduler({ numTrainTimesteps: 1000 }) });
    const out = await pipe.generate({
      image, maskImage: mask, batchSize: N, numInferenceSteps: run.steps, jumpLength: run.jumpLength, jumpNSample: run.jumpNSample,
      eta: run.eta, generator: 'torch', seed: BigInt(run.seed),
    });
    const values = out.toFloat32Array();
    const ours = toImages(values, out.shape as number[]);
    out.dispose();
    const theirs = decode(run.images);
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    console.log(`  ${run.name}: largest difference ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-5, `${run.name}: images differ by up to ${worst}`);
    let kept = 0;
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) {
      if (maskValues[n * H * W + p] !== 1) continue;
      const i = (n * C + c) * H * W + p;
      assert.is(values[i], imageValues[i], `${run.name}: kept pixel ${i}`);
      kept++;
    }
    assert.ok(kept > 0 && kept < values.length, 'the mask keeps some pixels and paints others');
  }
  image.dispose();
  mask.dispose();
});

test.run();
