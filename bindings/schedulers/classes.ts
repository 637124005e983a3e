/**
 * The scheduler classes by name: what rebuilds a scheduler elsewhere (a sampling worker) from its name and its
 * config. Names are the keys of this table, not `constructor.name`, which a minifier may rename.
 */
import { DDIMScheduler } from './ddim.ts';
import { DDPMScheduler } from './ddpm.ts';
import { DPMSolverMultistepScheduler } from './dpm-solver.ts';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.ts';
import { EulerDiscreteScheduler } from './euler.ts';
import { HeunDiscreteScheduler } from './heun.ts';
import { ScoreSdeODEScheduler } from './score-sde-ode.ts';
import { ScoreSdePCScheduler } from './score-sde-pc.ts';
import { UniPCMultistepScheduler } from './unipc.ts';

export const SCHEDULER_CLASSES = {
  DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler, EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler, HeunDiscreteScheduler, ScoreSdePCScheduler, ScoreSdeODEScheduler,
} as const;

export type SchedulerClassName = keyof typeof SCHEDULER_CLASSES;

/** The table's name of a scheduler's class (its own class, not a subclass), or null. */
export function schedulerClassName(scheduler: object): SchedulerClassName | null {
  const entry = Object.entries(SCHEDULER_CLASSES).find(([, cls]) => Object.getPrototypeOf(scheduler) === cls.prototype);
  return entry ? (entry[0] as SchedulerClassName) : null;
}
