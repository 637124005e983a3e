/**
 * Sampling speed: DDIM with 50 steps and DPM-Solver++ 2M with Karras sigmas and 10 steps (both the same work per
 * model evaluation), 16 digits (labels 0-9, 0-5), from the shipped digit model
 * (models/mnist.safetensors). Until that file exists, a UNet2DModel with the CLI's mnist preset stands in
 * (cli/models.ts: 28x28, blockOutChannels [32, 64, 64], one resnet per level, attention at 7x7, 10 classes),
 * with random weights: the work per step is the same, and the report says which one ran. The pipelines run their
 * default, Winograd's 3x3 convolutions: the GFLOP/s count the direct convolution's FLOPs (an effective rate).
 */
import { existsSync, readFileSync } from 'node:fs';
import { decodeModel } from '../bindings/models/model-file.ts';
import type { Denoiser } from '../bindings/models/denoiser.ts';
import { UNet2DModel } from '../bindings/models/unet2d.ts';
import type { UNet2DConfig } from '../bindings/models/unet2d-config.ts';
import { DiffusionPipeline } from '../bindings/pipelines/index.ts';
import { DDIMScheduler, DPMSolverMultistepScheduler, type SchedulerOptions } from '../bindings/schedulers/index.ts';
import { unetFlops } from './flops.ts';
import { timeCases } from './measure.ts';
import { packageFile } from './package-files.ts';
import type { Context } from './report.ts';

const IMAGES = 16;

/** The CLI's preset for 28x28 digits with 10 classes (cli/models.ts, unetPreset(28, 1, 10)). */
const MNIST_PRESET: UNet2DConfig = {
  sampleSize: 28, inChannels: 1, blockOutChannels: [32, 64, 64], layersPerBlock: 1, attentionResolutions: [7],
  numHeads: 4, normNumGroups: 8, resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 10,
};

/** Times DDIM-50 and DPM-Solver++ 2M Karras-10 of 16 digits; returns a Markdown section (nothing with --quick). */
export async function benchSampling(ctx: Context): Promise<string> {
  if (ctx.quick) return '';
  ctx.log(`sampling: DDIM-50 and DPM-Solver++ 2M Karras-10, ${IMAGES} digits`);
  const { model, scheduler, source } = digitModel();
  const samplers = [
    { name: 'DDIM-50', steps: 50, pipe: new DiffusionPipeline({ model, scheduler: DDIMScheduler.fromConfig(scheduler) }) },
    {
      name: 'DPM-Solver++ 2M Karras-10', steps: 10,
      pipe: new DiffusionPipeline({ model, scheduler: DPMSolverMultistepScheduler.fromConfig(scheduler, { useKarrasSigmas: true }) }),
    },
  ];
  const classLabels = model.numClasses > 0 ? Array.from({ length: IMAGES }, (_, i) => i % model.numClasses) : undefined;
  const generate = (pipe: DiffusionPipeline, steps: number) => async () => (await pipe.generate({ batchSize: IMAGES, numInferenceSteps: steps, seed: 0, classLabels })).dispose();
  try {
    await timeCases([{ name: 'warm-up', fn: generate(samplers[0].pipe, 5), async: true, warmup: 1, iterations: 1 }], 1);
    const t = await timeCases(samplers.map((s) => ({ name: s.name, fn: generate(s.pipe, s.steps), async: true, warmup: 0, iterations: 1 })), Math.min(2, ctx.rounds));
    const config = (model as UNet2DModel).config;
    const rows = samplers.map(({ name, steps }) => {
      const ms = t.cpu(name);
      const rate = config ? (unetFlops(config, IMAGES).forward * steps) / ms / 1e6 : undefined;
      return `| ${name}, ${IMAGES} images, 1 core | ${source} | ${ms.toFixed(0)} | ${((IMAGES * 1000) / ms).toFixed(2)} | ${rate?.toFixed(1) ?? '-'} |`;
    });
    return ['| sampling | model | ms per batch (median) | images/s | GFLOP/s (direct convolution FLOPs) |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
  } finally {
    model.params.values.dispose();
    model.params.grads.dispose();
  }
}

function digitModel(): { model: Denoiser; scheduler: SchedulerOptions; source: string } {
  const file = packageFile('models/mnist.safetensors');
  if (existsSync(file)) {
    const { model, metadata } = decodeModel(readFileSync(file), 'models/mnist.safetensors');
    return { model: model as Denoiser, scheduler: metadata.scheduler, source: 'models/mnist.safetensors' };
  }
  return {
    model: new UNet2DModel(MNIST_PRESET, 0), scheduler: {},
    source: 'models/mnist.safetensors not shipped yet: the CLI\'s mnist preset (28×28, [32, 64, 64], 10 classes), random weights',
  };
}
