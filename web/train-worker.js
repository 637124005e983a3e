/**
 * The training page's worker: trains the 8-mode toy with `ddpm train --data gaussian8`'s recipe (recipe.js), one
 * step at a time so that it can pause between steps, and posts every step's loss and, now and then, samples of
 * the current EMA weights (DDIM, 25 steps, a fixed seed: the command's preview). Pausing changes nothing: each
 * step is a function of the recipe and the step's number alone.
 *
 * Messages in:   { type: 'start', steps, seed, sampleEvery }    { type: 'pause' }    { type: 'resume' }
 *                { type: 'weights' }    (the SHA-256 of the parameters and of the EMA, and the trainer's options as its training state records them)
 * Messages out:  { type: 'started', parameters }   { type: 'step', step, loss, learningRate }
 *                { type: 'samples', step, points }  { type: 'paused', step }  { type: 'done', step, ms }
 *                { type: 'weights', step, params, ema, options }   { type: 'error', message }
 */
import { gaussian8Run } from './recipe.js';

/** The command's preview: DDIM, 25 steps, 1,000 points, seed 1234 (cli/train.ts). */
const PREVIEW = { steps: 25, points: 1000, seed: 1234 };

let lib = null;
let run = null;

self.onmessage = ({ data: message }) => {
  const handled = { start, pause, resume, weights }[message.type]?.(message);
  Promise.resolve(handled).catch((error) => self.postMessage({ type: 'error', message: error.message }));
};

async function start({ steps, seed, sampleEvery }) {
  lib ??= await import('../dist/bindings/index.js');
  await lib.init();
  if (run) await run.trainer.dispose();
  const { dataset, model, schedulerOptions, trainerOptions } = gaussian8Run(lib, { steps, seed });
  const trainer = new lib.Trainer({ model, dataset, scheduler: new lib.DDPMScheduler(schedulerOptions), ...trainerOptions });
  const preview = lib.createModel('mlp', model.config);
  run = { trainer, preview, schedulerOptions, steps, sampleEvery, paused: false, wake: null, started: performance.now() };
  self.postMessage({ type: 'started', parameters: model.params.size });
  await samples(run);
  await loop(run);
}

/** Steps until done, waiting while paused; lets messages in every few steps. */
async function loop(current) {
  const { trainer, steps, sampleEvery } = current;
  while (trainer.step < steps && run === current) {
    if (current.paused) {
      self.postMessage({ type: 'paused', step: trainer.step });
      await new Promise((resolve) => { current.wake = resolve; });
      continue;
    }
    const { step, loss, learningRate } = await trainer.trainStep();
    self.postMessage({ type: 'step', step, loss, learningRate });
    if (step % sampleEvery === 0 || step === steps) await samples(current);
    // A macrotask now and then: pause and resume arrive between steps.
    if (step % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  if (run === current) self.postMessage({ type: 'done', step: trainer.step, ms: performance.now() - current.started });
}

/** Samples of the EMA weights, as the command's preview draws them. */
async function samples({ trainer, preview, schedulerOptions }) {
  preview.params.values.view().set(trainer.ema.view());
  const pipeline = new lib.DDIMPipeline({ model: preview, scheduler: lib.DDIMScheduler.fromConfig(schedulerOptions) });
  const out = await pipeline.generate({ batchSize: PREVIEW.points, numInferenceSteps: PREVIEW.steps, seed: PREVIEW.seed });
  const points = out.toFloat32Array();
  out.dispose();
  self.postMessage({ type: 'samples', step: trainer.step, points }, [points.buffer]);
}

function pause() {
  if (run) run.paused = true;
}

function resume() {
  if (!run?.paused) return;
  run.paused = false;
  run.wake?.();
  run.wake = null;
}

async function weights() {
  if (!run) throw new Error('nothing is training yet');
  const hash = async (tensor) => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', tensor.toFloat32Array()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const { trainer } = run;
  self.postMessage({ type: 'weights', step: trainer.step, params: await hash(trainer.model.params.values), ema: await hash(trainer.ema), options: trainer.storedOptions });
}
