/**
 * The quality evaluation of a colorize or superres model (evaluation/conditioned.ts) on held-out digits: prints a
 * Markdown table of the measures, and optionally a picture of inputs and outputs.
 *
 *   node --import tsx scripts/evaluate-conditioned.ts --model models/colorize.safetensors [--num 200] [--steps 50] [--seed 0] [--picture out.png]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeModel, init, type Denoiser } from '../bindings/index.ts';
import { evaluateConditioned, formatConditioned } from '../evaluation/conditioned.ts';
import { imageGrid, savePicture } from '../cli/pictures/index.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, num: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, picture: { type: 'string' } } });
if (!values.model) throw new Error('--model FILE is required (a model trained with ddpm train --task colorize or superres)');
await init();
const { model, metadata } = decodeModel(readFileSync(values.model), values.model);
const evaluation = await evaluateConditioned(model as Denoiser, metadata, {
  num: values.num ? Number(values.num) : undefined, steps: values.steps ? Number(values.steps) : undefined, seed: values.seed ? Number(values.seed) : undefined,
  onProgress: (done, total) => process.stderr.write(`sampling: ${done}/${total}\n`),
});
process.stdout.write(`${formatConditioned(evaluation, values.model)}\n`);
if (values.picture) {
  // A row of inputs (grey, or low resolution upsampled) over a row of outputs, the first 10 digits.
  const [C, H, W] = (model as Denoiser).sampleShape;
  const count = Math.min(10, evaluation.num), [, h, w] = metadata.data.condition!.inputShape;
  const rows = new Float32Array(2 * count * C * H * W);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const inputChannel = metadata.data.condition!.inputShape[0] === C ? c : 0;
        rows[((n * C + c) * H + y) * W + x] = evaluation.inputs[((n * metadata.data.condition!.inputShape[0] + inputChannel) * h + Math.floor(y * h / H)) * w + Math.floor(x * w / W)];
      }
    }
  }
  rows.set(evaluation.outputs.subarray(0, count * C * H * W), count * C * H * W);
  await savePicture(values.picture, await imageGrid(rows, [2 * count, C, H, W], { columns: count, scale: 3 }));
  process.stderr.write(`wrote ${values.picture}\n`);
}
