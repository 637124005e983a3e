/**
 * The samplers by name, as the command, the page and the evaluation offer them: each a scheduler of the library
 * with the options that make it that sampler, built for a model from the model file's stored scheduler config
 * (diffusers' from_config), with what it is, its order (the fewest steps) and its default number of steps.
 */
// Each scheduler from its own file: the scheduler index also reaches the editing schedulers and the name table.
import { DDIMScheduler } from '../schedulers/ddim.ts';
import { DDPMScheduler } from '../schedulers/ddpm.ts';
import { DPMSolverMultistepScheduler } from '../schedulers/dpm-solver.ts';
import { EulerAncestralDiscreteScheduler } from '../schedulers/euler-ancestral.ts';
import { EulerDiscreteScheduler } from '../schedulers/euler.ts';
import { HeunDiscreteScheduler } from '../schedulers/heun.ts';
import type { SchedulerOptions } from '../schedulers/options.ts';
import { UniPCMultistepScheduler } from '../schedulers/unipc.ts';
import { ScoreSdeODEScheduler } from '../schedulers/score-sde-ode.ts';
import { ScoreSdePCScheduler, type CorrectorType } from '../schedulers/score-sde-pc.ts';
import type { PipelineScheduler } from './pipeline.ts';

export type SamplerName = 'ddpm' | 'ddim' | 'dpmsolver++' | 'unipc' | 'euler' | 'euler-ancestral' | 'heun' | 'sde-pc' | 'pf-ode';

/**
 * Each sampler: its scheduler, what it is (for --help), its order (the fewest steps) and its default steps (the
 * model evaluations of a run are its scheduler's `timesteps`, one entry per evaluation).
 */
export const SAMPLER_INFO: Readonly<Record<SamplerName, { what: string; order: number; steps: number | null; karras: boolean }>> = {
  ddim: { what: 'DDIM (Song et al. 2021), deterministic, first order', order: 1, steps: 50, karras: false },
  ddpm: { what: 'ancestral DDPM (Ho et al. 2020), one step per training timestep by default', order: 1, steps: null, karras: false },
  'dpmsolver++': { what: 'DPM-Solver++ 2M (Lu et al. 2022), second-order multistep', order: 2, steps: 20, karras: true },
  unipc: { what: 'UniPC-bh2 (Zhao et al. 2023), second-order predictor-corrector', order: 2, steps: 20, karras: true },
  euler: { what: "Euler's method on the ODE (Karras et al. 2022), first order", order: 1, steps: 50, karras: true },
  'euler-ancestral': { what: 'Euler ancestral, stochastic, first order', order: 1, steps: 50, karras: false },
  heun: { what: "Heun's method (Karras et al. 2022), second order, two model evaluations per step but the last", order: 2, steps: 20, karras: true },
  'sde-pc': {
    what: 'score-SDE predictor-corrector (Song et al. 2021): reverse diffusion + one Langevin step per timestep', order: 1, steps: null, karras: false,
  },
  'pf-ode': { what: "score-SDE probability-flow ODE (Song et al. 2021), Heun's method in log ab, deterministic", order: 2, steps: null, karras: false },
};
export const SAMPLERS = Object.keys(SAMPLER_INFO) as SamplerName[];

/** The options of a model's stored config that define its noise schedule and parameterisation. */
const SCHEDULE_KEYS = ['numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'trainedBetas', 'predictionType'] as const;

/**
 * The scheduler of a sampler for a model, from the model file's stored scheduler config (diffusers' from_config).
 * The schedule is the one the model was trained with (DDPMScheduler's reading of the stored config: a stored
 * config lists only what differed from those defaults, and Heun's own defaults differ); the timestep spacing and
 * the solver's options are the sampler's. A model whose x0 is clipped to [-1, 1] (clipSample) gets the same clip
 * in the multistep solvers, which predict x0: dynamic thresholding with sampleMaxValue 1 is that clip (s is 1).
 */
export function samplerScheduler(sampler: SamplerName, stored: SchedulerOptions, options: { karras?: boolean; corrector?: CorrectorType } = {}): PipelineScheduler {
  const trained = DDPMScheduler.fromConfig(stored).config;
  const config = { ...stored, ...Object.fromEntries(SCHEDULE_KEYS.map((key) => [key, trained[key]])) };
  const karras = options.karras ? { useKarrasSigmas: true } : {};
  const clip = trained.clipSample && trained.clipSampleRange === 1 ? { thresholding: true, sampleMaxValue: 1 } : {};
  switch (sampler) {
    case 'ddpm': return DDPMScheduler.fromConfig(config);
    case 'ddim': return DDIMScheduler.fromConfig(config);
    case 'dpmsolver++': return DPMSolverMultistepScheduler.fromConfig(config, { algorithmType: 'dpmsolver++', solverOrder: 2, ...clip, ...karras });
    case 'unipc': return UniPCMultistepScheduler.fromConfig(config, { solverType: 'bh2', solverOrder: 2, ...clip, ...karras });
    case 'euler': return EulerDiscreteScheduler.fromConfig(config, karras);
    case 'euler-ancestral': return EulerAncestralDiscreteScheduler.fromConfig(config);
    case 'heun': return HeunDiscreteScheduler.fromConfig(config, karras);
    case 'sde-pc': return ScoreSdePCScheduler.fromConfig(config, options.corrector ? { corrector: options.corrector } : {});
    case 'pf-ode': return ScoreSdeODEScheduler.fromConfig(config);
  }
}
