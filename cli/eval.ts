/**
 * `ddpm eval --nll`: the variational bound on the negative log-likelihood of held-out data (Ho et al. 2020, eq. 5,
 * term by term as improved-diffusion's calc_bpd_loop: bindings/likelihood/), in bits per dimension for images
 * (8-bit, the discretised decoder) and nats per dimension for 2-D points (the Gaussian decoder), with its three
 * parts and a 95% confidence interval over the examples.
 *
 * Held-out data: the digits' test split (the 100 last digits of each class, never trained on), visited in a fixed
 * shuffle so that any --num is a fair sample of every class; for the 2-D toys, fresh points of the same
 * distribution (seed 1; training draws seed 0); a folder: every image in it.
 */
import { Command, Option } from 'commander';
import {
  DataOrder, DDPMScheduler, decodeModel, evaluateLikelihood, natsToBits, toyDataset, ArrayDataset, VARIANCE_TYPES,
  type Dataset, type Denoiser, type ModelMetadata, type VarianceType,
} from '../bindings/index.ts';
import { readFileBytes } from '../bindings/io/files.ts';
import { BUILTIN_DATA, isToy, loadData } from './data.ts';
import { fail } from './errors.ts';
import { resolveModelFile, SHIPPED_MODELS } from './models.ts';
import { addCommonOptions, integerAtLeast, shown } from './options.ts';
import { formatDuration, SamplingProgress } from './progress.ts';

export interface EvalFlags {
  model: string;
  data?: string;
  nll?: boolean;
  num?: number;
  seed: number;
  batch?: number;
  variance?: string;
  steps?: number;
  labels?: 'data' | 'null';
  workers?: number;
  json?: boolean;
}

/** Fresh points of a toy come from this seed (the training set is seed 0). */
const HELD_OUT_TOY_SEED = 1;
/** Default number of examples: about 15 minutes for the shipped digit model on one core; seconds for points. */
const DEFAULT_NUM = { images: 64, points: 2000 };
const DEFAULT_BATCH = { images: 32, points: 1000 };
const VARIANCE_FLAGS = VARIANCE_TYPES.map((v) => v.replace('_', '-'));

export function evalCommand(): Command {
  const command = new Command('eval')
    .description('evaluate a model on held-out data: --nll, the variational bound in bits/dim (images) or nats/dim (points)')
    .requiredOption('--model <file|name>', `a model file, or a shipped model: ${Object.keys(SHIPPED_MODELS).join(', ')}`)
    .option('--data <name|folder>', `the held-out data (default: the model's own, if built in: ${BUILTIN_DATA.join(', ')})`)
    .option('--nll', 'the negative log-likelihood bound, term by term over all T timesteps (prior, diffusion, decoder)')
    .addOption(new Option('--num <n>', `examples (default: ${DEFAULT_NUM.images} images or ${DEFAULT_NUM.points} points)`).argParser(integerAtLeast(2)))
    .addOption(new Option('--seed <s>', 'seed of the noise of every term').argParser(integerAtLeast(0)).default(0))
    .addOption(new Option('--batch <b>', `examples per model call (default: ${DEFAULT_BATCH.images} images, ${DEFAULT_BATCH.points} points)`).argParser(integerAtLeast(1)))
    .addOption(new Option('--variance <type>', "the reverse process's variance: fixed, or the model's (learned-range, learned; default: the model's own, else fixed-small)").choices(VARIANCE_FLAGS))
    .addOption(new Option('--steps <k>', 'the bound of the respaced k-step chain DDPM-k samples (default: every training timestep)').argParser(integerAtLeast(1)))
    .addOption(new Option('--labels <which>', "class-conditional models: each example's own label (-log p(x|y)) or the null label (-log p(x))").choices(['data', 'null']))
    .addOption(new Option('--workers <n>', 'threads computing each batch; the bound is the same with any number (default: 1)').argParser(integerAtLeast(1, 64)))
    .option('--json', 'print one JSON object: { bitsPerDim | natsPerDim, ci95, terms: { prior, diffusion, decoder }, num }')
    .addHelpText('after', `
The bound sums one term per training timestep, so it runs the model T times per batch (the shipped digit
models: about 10 s per digit on one core; --workers divides each batch between threads). The digits are the
held-out test split; 2-D toys are fresh points. For continuous data --variance fixed-large gives the tighter
bound (see the README).

Examples:
  ddpm eval --model runs/ring/model.safetensors --nll
  ddpm eval --model mnist --nll --num 256 --workers 2 --json
  ddpm eval --model mnist --nll --labels null
  ddpm eval --model runs/hybrid/model.safetensors --nll --steps 100     the DDPM-100 chain's bound`);
  return addCommonOptions(command).action(async (flags: EvalFlags) => {
    await evaluate(flags);
  });
}

/** The JSON `--json` prints. */
export interface NllReport {
  bitsPerDim?: number;
  natsPerDim?: number;
  ci95: number;
  terms: { prior: number; diffusion: number; decoder: number };
  num: number;
}

/** Runs `ddpm eval`; returns the report it printed. */
export async function evaluate(flags: EvalFlags, say: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<NllReport> {
  if (!flags.nll) fail('nothing to evaluate: add --nll (the negative log-likelihood bound; the only evaluation so far)');
  const { model, metadata, path } = await loadModel(flags.model);
  if (metadata.data.condition) fail(`--nll: the model is conditioned on images (${metadata.data.condition.task}); its likelihood needs them, and ddpm eval does not pair them yet`);
  const points = metadata.data.sampleShape.length === 1;
  const dataName = flags.data ?? modelData(metadata);
  const num = flags.num ?? (points ? DEFAULT_NUM.points : DEFAULT_NUM.images);
  const dataset = await heldOutData(dataName, num, metadata);
  checkData(dataset, model, metadata, flags);
  const labels = checkLabels(flags, model, dataset);
  const scheduler = DDPMScheduler.fromConfig(metadata.scheduler, { varianceType: varianceOf(flags, metadata) });
  const indices = points ? Int32Array.from({ length: num }, (_, i) => i) : new DataOrder(dataset.size, 0).indices(0, num);

  const started = performance.now();
  const T = scheduler.config.numTrainTimesteps;
  if (flags.steps !== undefined && flags.steps > T) fail(`--steps ${flags.steps}: the model has ${T} timesteps, so the chain has at most ${T} steps`);
  const K = flags.steps ?? T;
  const batchSize = flags.batch ?? (points ? DEFAULT_BATCH.points : DEFAULT_BATCH.images);
  // A progress step is one model call: one timestep of one batch.
  const batches = Math.ceil(num / batchSize);
  const progress = new SamplingProgress(batches * K, `bound of ${num} ${points ? 'points' : 'images'} (${batches} batch${batches > 1 ? 'es' : ''} × ${K} timesteps)`,
    flags.json ? process.stderr : process.stdout);
  let calls = 0;
  const result = await evaluateLikelihood(model, scheduler, dataset, {
    decoder: points ? 'gaussian' : 'discretized', indices, seed: flags.seed, labels, batchSize, numSteps: K, workers: flags.workers ?? 1,
    onProgress: () => progress.update(++calls),
  });
  progress.stop();
  const seconds = (performance.now() - started) / 1000;

  const unit = points ? (v: number) => v : natsToBits;
  const value = unit(result.total.mean);
  const report: NllReport = {
    ...(points ? { natsPerDim: value } : { bitsPerDim: value }),
    ci95: unit(result.total.ci95!),
    terms: { prior: unit(result.prior.mean), diffusion: unit(result.diffusion.mean), decoder: unit(result.decoder.mean) },
    num,
  };
  if (flags.json) {
    say(JSON.stringify(report));
    return report;
  }
  const per = points ? 'nats/dim' : 'bits/dim';
  const what = points ? `${num} fresh points of ${dataset.name}` : `${num} held-out images of ${dataset.name}`;
  const conditioning = model.numClasses === 0 ? '' : labels === 'null' ? ', null label (unconditional)' : ', conditioned on their labels';
  say(`${shown(path)}: ${value.toFixed(4)} ${per} ± ${report.ci95.toFixed(4)} (95% interval over ${what}${conditioning})`);
  say(`  prior      ${report.terms.prior.toFixed(4)}   KL(q(x_T|x0) || N(0, I))`);
  say(`  diffusion  ${report.terms.diffusion.toFixed(4)}   sum of KL(q(x_t-1|x_t, x0) || p(x_t-1|x_t)), ${K === T ? `t = 1..${T - 1}` : `the ${K - 1} later steps of the ${K}-step chain`}`);
  say(`  decoder    ${report.terms.decoder.toFixed(4)}   -log p(x0|x1)${points ? ' (Gaussian density)' : ' (discretised, 8-bit)'}`);
  say(`  ${K === T ? `${T} timesteps` : `${K} of ${T} timesteps (respaced)`}, ${scheduler.config.varianceType.replace('_', '-')} variance, seed ${flags.seed}, ${formatDuration(seconds)}`);
  return report;
}

async function loadModel(value: string): Promise<{ model: Denoiser; metadata: ModelMetadata; path: string }> {
  const path = resolveModelFile(value, '--model');
  const { model, metadata } = decodeModel(await readFileBytes(path), shown(path));
  if (metadata.kind === 'classifier') fail(`--model ${value}: this is a noise-aware classifier, not a diffusion model: it has no likelihood`);
  return { model: model as Denoiser, metadata, path };
}

/** The model's own data, when it is built in (a folder must be given again). */
function modelData(meta: ModelMetadata): string {
  if (BUILTIN_DATA.includes(meta.data.name)) return meta.data.name;
  return fail(`--nll: the model was trained on a folder of images ('${meta.data.name}'), which cannot be found from the model file; ` +
    'give held-out images of the same kind with --data FOLDER');
}

/** The held-out examples of `name`: the toys' fresh points, the digits' test split, or a folder's images. */
async function heldOutData(name: string, num: number, meta: ModelMetadata): Promise<Dataset> {
  if (isToy(name)) return toyDataset(name, num, HELD_OUT_TOY_SEED);
  const [channels, imageSize] = meta.data.sampleShape;
  if (meta.data.sampleShape.length !== 3) fail(`--data ${name} holds images; the model makes points [${meta.data.sampleShape.join(', ')}]`);
  const dataset = await loadData({ data: name, imageSize, channels, split: 'test' });
  if (num > dataset.size) fail(`--num ${num}: ${describe(name)} has ${dataset.size} images`);
  return quantized(dataset);
}

function describe(name: string): string {
  return BUILTIN_DATA.includes(name) ? `the ${name} test split` : `the folder ${name}`;
}

/**
 * The images on the 8-bit grid k / 127.5 - 1, which the discretised decoder assumes: the `mnist` package stores
 * pixels to 3 decimals (within 0.13 of k / 255), and rounding recovers k exactly.
 */
function quantized(dataset: Dataset): ArrayDataset {
  const all = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
  const values = all.x.toFloat32Array().map((v) => Math.round((v + 1) * 127.5) / 127.5 - 1);
  all.x.dispose();
  return new ArrayDataset(dataset.name, values, dataset.sampleShape, all.labels, dataset.classNames);
}

function checkData(dataset: Dataset, model: Denoiser, meta: ModelMetadata, flags: EvalFlags): void {
  const want = model.sampleShape.join(', '), got = dataset.sampleShape.join(', ');
  if (want !== got) fail(`--data ${dataset.name} gives samples [${got}], the model (trained on '${meta.data.name}') makes [${want}]`);
  if (flags.data === undefined || model.numClasses === 0 || flags.labels === 'null') return;
  if (dataset.numClasses !== model.numClasses) {
    fail(`--data ${flags.data} has ${dataset.numClasses} classes, the model ${model.numClasses} (trained on '${meta.data.name}'): ` +
      'evaluate on data with the same labels, or pass --labels null');
  }
}

function checkLabels(flags: EvalFlags, model: Denoiser, dataset: Dataset): 'data' | 'null' {
  if (model.numClasses === 0) {
    if (flags.labels !== undefined) fail(`--labels ${flags.labels}: the model is unconditional (it takes no labels)`);
    return 'data';
  }
  if ((flags.labels ?? 'data') === 'data' && dataset.numClasses === 0) {
    fail(`--data ${dataset.name} has no labels, and the model is class-conditional: pass --labels null (the unconditional bound)`);
  }
  return flags.labels ?? 'data';
}

function varianceOf(flags: EvalFlags, meta: ModelMetadata): VarianceType {
  if (flags.variance !== undefined) return flags.variance.replace('-', '_') as VarianceType;
  const stored = (meta.scheduler as { varianceType?: VarianceType }).varianceType;
  return stored && VARIANCE_TYPES.includes(stored) ? stored : 'fixed_small';
}
