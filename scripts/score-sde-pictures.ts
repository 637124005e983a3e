/**
 * Pictures of a 2-D model sampled with the score-SDE samplers (bindings/schedulers/score-sde*.ts), the three of
 * README's table at once (`ddpm sample --sampler sde-pc | pf-ode` draws each of them too): a scatter plot per sampler
 * over the training data (the command's picture), and the ring's quality numbers (the share of samples within 3 std of their nearest mode, and the
 * count of each mode) for each: the predictor-corrector sampler with each corrector (1 corrector step, snr 0.16)
 * and the probability-flow ODE, all with the model's T steps.
 *
 *   node --import tsx scripts/score-sde-pictures.ts --model runs/ring/model.safetensors --out docs [--num 2000] [--steps 100]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  decodeModel, GAUSSIAN8_CENTERS, GAUSSIAN8_STD, init, keep, ops, ScoreSdeODEScheduler, ScoreSdePCScheduler, tidy,
  type Denoiser, type SchedulerOptions,
} from '../bindings/index.ts';
import { STREAMS } from '../bindings/random-streams.ts';
import { savePicture, scatterPlot } from '../cli/pictures/index.ts';
import { trainingPoints } from '../cli/generate.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string', default: 'docs' }, num: { type: 'string', default: '2000' }, steps: { type: 'string' }, seed: { type: 'string', default: '0' } } });
if (!values.model) throw new Error('--model FILE is required (a 2-D model, e.g. from ddpm train --data gaussian8)');
await init();
const { model, metadata } = decodeModel(readFileSync(values.model));
const denoiser = model as Denoiser;
const num = Number(values.num), seed = Number(values.seed);
const config = { ...metadata.scheduler } as SchedulerOptions;
const steps = Number(values.steps ?? config.numTrainTimesteps ?? 1000);

/** The pipelines' loop (x_T from the initial-noise stream, one model call per entry of `timesteps`). */
function sample(scheduler: ScoreSdePCScheduler | ScoreSdeODEScheduler): Float32Array {
  scheduler.setTimesteps(steps);
  let x = keep(ops.randn([num, ...denoiser.sampleShape], { seed, stream: STREAMS.initialNoise }));
  for (const t of scheduler.timesteps) {
    const options = scheduler.stepOptionNames.includes('seed') ? { seed } : {};
    const next = tidy(() => scheduler.step(denoiser.forward(x, new Int32Array(num).fill(t)), t, x, options as never).prevSample);
    x.dispose();
    x = next;
  }
  const out = x.toFloat32Array();
  x.dispose();
  return out;
}

/** Within 3 std of the nearest mode, and the count of each mode (as test/quality/gaussian8.test.ts). */
function ringQuality(points: Float32Array): string {
  const centers = GAUSSIAN8_CENTERS.map(([cx, cy]) => [4 * cx / Math.SQRT2, 4 * cy / Math.SQRT2]);
  const counts = new Array(8).fill(0);
  let within = 0;
  for (let i = 0; i < points.length / 2; i++) {
    const d = centers.map(([cx, cy]) => Math.hypot(points[2 * i] - cx, points[2 * i + 1] - cy));
    const k = d.indexOf(Math.min(...d));
    counts[k]++;
    if (d[k] <= 3 * GAUSSIAN8_STD) within++;
  }
  return `${(100 * within / (points.length / 2)).toFixed(2)}% within 3 std; modes ${counts.join(' ')}`;
}

const background = trainingPoints(metadata.data.name);
const runs: [string, string, () => Float32Array][] = [
  ['sde-pc', "predictor-corrector, 'ald' corrector", () => sample(new ScoreSdePCScheduler({ ...config, corrector: 'ald' }))],
  ['sde-pc-langevin', "predictor-corrector, 'langevin' corrector", () => sample(new ScoreSdePCScheduler(config))],
  ['pf-ode', 'probability-flow ODE (Heun)', () => sample(new ScoreSdeODEScheduler(config))],
];
for (const [name, title, run] of runs) {
  const started = performance.now();
  const points = run();
  const seconds = (performance.now() - started) / 1000;
  const path = join(values.out!, `${metadata.data.name}-${name}.png`);
  await savePicture(path, await scatterPlot(points, { background, title: `${title}, ${steps} steps` }));
  console.log(`${path}: ${num} samples, ${ringQuality(points)}; ${seconds.toFixed(1)} s`);
}
