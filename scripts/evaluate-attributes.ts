/**
 * The quality evaluation of a model with labels per attribute (evaluation/attributes.ts): 'a 7 in any color',
 * 'anything red' and 'a red 7', judged by the digit classifier (trained on real digits, cached in runs/) and the
 * stroke's color. Prints a Markdown table.
 *
 *   node --import tsx scripts/evaluate-attributes.ts --model models/colored-mnist-attributes.safetensors [--guidance 3] [--steps 50]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeModel, init, type Denoiser } from '../bindings/index.ts';
import { evaluateAttributeModel, formatAttributes } from '../evaluation/attributes.ts';
import { loadOrTrainDigitClassifier } from '../evaluation/classifier-cache.ts';

const { values } = parseArgs({
  options: { model: { type: 'string' }, guidance: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, 'per-pair': { type: 'string' }, 'classifier-dir': { type: 'string' } },
});
if (!values.model) throw new Error('--model FILE is required (ddpm train --data colored-mnist-attributes --class-cond)');
await init();
const { model, metadata } = decodeModel(readFileSync(values.model), values.model);
const judge = await loadOrTrainDigitClassifier(values['classifier-dir'] ?? 'runs/eval-classifier', {});
const evaluation = await evaluateAttributeModel(model as Denoiser, metadata, judge.classifier, {
  guidance: values.guidance ? Number(values.guidance) : undefined, steps: values.steps ? Number(values.steps) : undefined,
  seed: values.seed ? Number(values.seed) : undefined, perPair: values['per-pair'] ? Number(values['per-pair']) : undefined,
  onProgress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${formatAttributes(evaluation, values.model)}\n`);
