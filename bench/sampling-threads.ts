/**
 * Sampling on two cores and the cost of classifier-free guidance (issue 13), on the shipped digit model: DDIM-20 of
 * 32 digits in one thread (the pipeline's generate) and split between two (SamplingWorkers), wall clock (the two
 * threads' CPU time adds up, so only the wall clock shows the gain; it needs a second free core), checked to give
 * the same bits; and guidance 3 (one pass of twice the images) against guidance 1 on one core, CPU time, against
 * the doubled FLOPs.
 */
import { readFileSync } from 'node:fs';
import { DDIMScheduler, DiffusionPipeline, SamplingWorkers, decodeModel, type Denoiser, type GenerateOptions } from '../bindings/index.ts';
import { timeCases } from './measure.ts';
import { packageFile } from './package-files.ts';
import type { Context } from './report.ts';

const IMAGES = 32;
const STEPS = 20;

export async function benchSamplingThreads(ctx: Context): Promise<string> {
  if (ctx.quick) return '';
  ctx.log(`sampling: 1 and 2 threads, guidance 1 and 3 (DDIM-${STEPS}, ${IMAGES} digits)`);
  const { model, metadata } = decodeModel(readFileSync(packageFile('models/mnist.safetensors')), 'models/mnist.safetensors');
  const pipeline = new DiffusionPipeline({ model: model as Denoiser, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const workers = await SamplingWorkers.start(pipeline, 2);
  const options = (guidanceScale: number): GenerateOptions => ({
    batchSize: IMAGES, numInferenceSteps: STEPS, seed: 0, guidanceScale, classLabels: Array.from({ length: IMAGES }, (_, i) => i % 10),
  });
  try {
    const one = await pipeline.generate(options(1)), two = await workers.generate(options(1));
    const same = Buffer.from(one.toFloat32Array().buffer).equals(Buffer.from(two.toFloat32Array().buffer));
    one.dispose();
    two.dispose();
    const run = (fn: () => Promise<{ dispose(): void }>) => async () => (await fn()).dispose();
    const t = await timeCases([
      { name: 'one', fn: run(() => pipeline.generate(options(1))), async: true, warmup: 0, iterations: 1 },
      { name: 'two', fn: run(() => workers.generate(options(1))), async: true, warmup: 0, iterations: 1 },
      { name: 'guided', fn: run(() => pipeline.generate(options(3))), async: true, warmup: 0, iterations: 1 },
    ], Math.max(2, Math.min(3, ctx.rounds)));
    const speedup = t.wall('one') / t.wall('two');
    const guidance = t.cpu('guided') / t.cpu('one');
    ctx.notes.push(`Sampling on 2 threads: the samples ${same ? 'have' : '**do not have**'} one thread's bits (DDIM-${STEPS}, ${IMAGES} digits, models/mnist.safetensors).`);
    return [
      '| sampling, models/mnist.safetensors, DDIM-20 of 32 digits | ms (median) | images/s | vs one thread | target | met |',
      '| --- | --- | --- | --- | --- | --- |',
      `| 1 thread, wall clock | ${t.wall('one').toFixed(0)} | ${(IMAGES * 1000 / t.wall('one')).toFixed(1)} | 1× | - | - |`,
      `| 2 threads (SamplingWorkers), wall clock | ${t.wall('two').toFixed(0)} | ${(IMAGES * 1000 / t.wall('two')).toFixed(1)} | ${speedup.toFixed(2)}× | ≥ 1.8×, bit-identical | ${speedup >= 1.8 && same ? 'yes' : '**no**'} |`,
      `| 1 thread, guidance 3 (2N images per pass), CPU time | ${t.cpu('guided').toFixed(0)} | ${(IMAGES * 1000 / t.cpu('guided')).toFixed(1)} | ${guidance.toFixed(2)}× the time of guidance 1 | ≤ 2× (the FLOPs double), read with 2.5% for timing noise | ${guidance <= 2.05 ? 'yes' : '**no**'} |`,
    ].join('\n');
  } finally {
    workers.close();
    model.params.values.dispose();
    model.params.grads.dispose();
  }
}
