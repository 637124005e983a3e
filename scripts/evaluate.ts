/**
 * The quality evaluation of a digit model (evaluation/): samples every class with DDIM and prints Markdown
 * tables of how often a classifier trained only on real digits (and, for colored digits, the stroke's color)
 * agrees with the class asked for, next to the classifier's accuracy on real held-out digits.
 *
 *   node --import tsx scripts/evaluate.ts --model models/mnist.safetensors [--per-class 50] [--steps 50] [--guidance W]
 *
 * Options: --sampler ddim|ddpm (default ddim; ddpm samples with the model's own variance when it learned one),
 * --seed S (default 0), --eta E (default 0), --batch B (samples per pipeline call, default 64; the
 * samples depend on it, see evaluation/conditional.ts), --classifier-dir DIR (where the judge is kept; default
 * runs/eval-classifier), --training-log FILE (the loss.csv of the model's run, for its training time; default:
 * the one beside the model), --quiet (no progress on stderr). Errors: one line on stderr, exit code 1.
 */
import { parseArgs } from 'node:util';
import { init } from '../bindings/index.ts';
import { evaluateModelFile } from '../evaluation/index.ts';

const USAGE = 'usage: node --import tsx scripts/evaluate.ts --model FILE [--per-class K] [--sampler ddim|ddpm] [--steps N] [--guidance W] [--seed S] [--eta E] [--batch B] ' +
  '[--classifier-dir DIR] [--training-log FILE] [--quiet]';

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${value}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, 'per-class': { type: 'string' }, sampler: { type: 'string' }, steps: { type: 'string' }, guidance: { type: 'string' },
      seed: { type: 'string' }, eta: { type: 'string' }, batch: { type: 'string' }, 'classifier-dir': { type: 'string' }, 'training-log': { type: 'string' },
      quiet: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.model) throw new Error(`--model is required\n${USAGE}`);
  const options = {
    perClass: integer('per-class', values['per-class'], 1), sampler: values.sampler as 'ddim' | 'ddpm' | undefined, steps: integer('steps', values.steps, 1),
    guidance: number('guidance', values.guidance), seed: integer('seed', values.seed, 0), eta: number('eta', values.eta),
    batchSize: integer('batch', values.batch, 1),
    classifierFolder: values['classifier-dir'], trainingLog: values['training-log'],
    onMessage: values.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`),
  };
  await init();
  const { markdown } = await evaluateModelFile(values.model, options);
  process.stdout.write(`${markdown}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
