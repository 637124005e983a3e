/**
 * Which kind of scheduler a pipeline was given, told by the method that defines the kind rather than by its class,
 * so that the sampling loop imports no scheduler it is not given (a bundle of DDIM sampling holds no RePaint, SDE
 * or sigma-scheduler code).
 */
import type { RePaintScheduler } from '../schedulers/repaint.ts';
import type { ScoreSdeScheduler } from '../schedulers/score-sde.ts';
import type { SigmaScheduler } from '../schedulers/sigma-scheduler.ts';

/** RePaint inpainting's scheduler: the one with undo steps. */
export const isRePaint = (scheduler: object): scheduler is RePaintScheduler => 'undoStep' in scheduler;

/** The score-SDE samplers: their `timesteps` are a call plan over the `grid` of inference timesteps, run whole. */
export const isScoreSde = (scheduler: object): scheduler is ScoreSdeScheduler<never, string> => 'grid' in scheduler;

/** The sigma-based ODE solvers (Euler, Heun, DPM-Solver, UniPC): img2img sets the entry they begin at. */
export const isSigmaScheduler = (scheduler: object): scheduler is SigmaScheduler<never> => 'setBeginIndex' in scheduler;
