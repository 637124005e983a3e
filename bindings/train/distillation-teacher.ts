/**
 * Progressive distillation (Salimans & Ho 2022, Algorithm 2): a student learns to take in one DDIM step what its
 * teacher takes in two, halving the number of sampling steps each round. The teacher is the trained model (or the
 * previous round's student), optionally guided (classifier-free guidance at a fixed scale is distilled into the
 * student, which then samples with guidance 1).
 *
 * The student samples N steps on the 'trailing' grid tau_0 > ... > tau_{N-1} (round(T - k T / N) - 1, Lin et
 * al. 2024: the first step starts from pure noise at T - 1) and tau_N = "before timestep 0" (ab = 1). The
 * teacher's 2N-step grid holds every tau_k and a midpoint between each pair. For a training sample x0 at a
 * student timestep t = tau_k, with alpha = sqrt(ab_t), sigma = sqrt(1 - ab_t) and z_t = alpha x0 + sigma eps:
 *
 *   z'  = DDIM step of the teacher from t to the midpoint,  z'' = DDIM step from the midpoint to tau_{k+1}
 *   x~  = (z'' - (sigma''/sigma) z_t) / (alpha'' - (sigma''/sigma) alpha)   (the x0 that one DDIM step would need)
 *
 * and the student regresses the target that x~ implies in its own parameterisation (eps, x0 or v; v gives
 * Salimans & Ho's "SNR+1" weighting) with the plain MSE of the training loop. The teacher's DDIM steps clip x0 to
 * [-1, 1] and take eps from the clipped x0, as the library's DDIM sampling does by default.
 *
 * The target is computed shard by shard, in whichever thread owns the shard (train/workers.ts): each item's
 * output depends only on that item, so the student's weights are bit-identical with any number of workers.
 */
import type { Denoiser } from '../models/denoiser.ts';
import { guidedForward } from '../models/guidance.ts';
import { InferenceCache } from '../nn/inference-cache.ts';
import { schedulerAddNoise, schedulerStep } from '../ops/scheduler.ts';
import { spacedTimesteps } from '../schedulers/timesteps.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import { Tensor } from '../tensor.ts';
import { rows, type ShardInput, type TargetSource } from './gradients.ts';

/** How a round's targets are made. */
export interface DistillationRecipe {
  /** The student's sampling steps N (the teacher takes 2N): an integer >= 1, at most numTrainTimesteps / 2. */
  studentSteps: number;
  /** The teacher's classifier-free guidance scale (1: none; needs a class-conditional teacher). Default 1. */
  guidanceScale?: number;
}

/** The N timesteps of the student, decreasing, then -1 ("before timestep 0", ab = 1). */
export function studentGrid(numTrainTimesteps: number, steps: number): Int32Array {
  return Int32Array.from([...spacedTimesteps('trailing', numTrainTimesteps, steps, 0), -1]);
}

/** The teacher's half of a round: the regression target of any shard, from the teacher's two DDIM steps. */
export class DistillationTeacher implements TargetSource {
  /** tau_0 .. tau_N of the student, and the teacher's 2N + 1 points (every other one is the student's). */
  readonly grid: Int32Array;
  private readonly teacherGrid: Int32Array;
  private readonly alphasCumprod: Float64Array;
  readonly guidanceScale: number;
  /** The teacher's weights prepared for the inference kernels (they do not change while it teaches). */
  private readonly cache = new InferenceCache();

  constructor(readonly teacher: Denoiser, readonly scheduler: NoiseScheduler<SchedulerOptions>, recipe: DistillationRecipe) {
    const T = scheduler.config.numTrainTimesteps;
    const { studentSteps: N, guidanceScale = 1 } = recipe;
    if (!Number.isInteger(N) || N < 1 || 2 * N > T) throw new Error(`DistillationTeacher: studentSteps must be an integer in [1, ${T / 2}] (numTrainTimesteps ${T}), got ${N}`);
    if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale)) throw new Error(`DistillationTeacher: guidanceScale must be a finite number, got ${guidanceScale}`);
    if (guidanceScale !== 1 && teacher.numClasses === 0) throw new Error(`DistillationTeacher: guidanceScale ${guidanceScale} needs a class-conditional teacher`);
    this.grid = studentGrid(T, N);
    this.teacherGrid = studentGrid(T, 2 * N);
    this.alphasCumprod = scheduler.alphasCumprod;
    this.guidanceScale = guidanceScale;
  }

  /** Frees the teacher's prepared weights (the teacher model itself belongs to the caller). */
  dispose(): void {
    this.cache.dispose();
  }

  /** ab_t, with ab = 1 before timestep 0. */
  private ab(t: number): number {
    return t < 0 ? 1 : this.alphasCumprod[t];
  }

  /** The student's target for a shard (x = z_t at student timesteps): see the top of the file. */
  target(shard: ShardInput): Tensor {
    const { x: zt, timesteps, labels } = shard;
    const index = Array.from(timesteps, (t) => this.grid.indexOf(t));
    const bad = index.findIndex((k) => k < 0 || k >= this.grid.length - 1);
    if (bad >= 0) throw new Error(`DistillationTeacher: timestep ${timesteps[bad]} is not one of the student's ${this.grid.length - 1} timesteps`);
    const middle = Int32Array.from(index, (k) => this.teacherGrid[2 * k + 1]);
    const next = Int32Array.from(index, (k) => this.grid[k + 1]);
    const z1 = this.teacherStep(zt, timesteps, middle, labels);
    const z2 = this.teacherStep(z1, middle, next, labels);
    // target = p·z_t + q·z'' per item, from x~ = a·z'' + b·z_t (the top of the file).
    const prediction = this.scheduler.config.predictionType;
    const p: number[] = [], q: number[] = [];
    timesteps.forEach((t, n) => {
      const ab = this.ab(t), abNext = this.ab(next[n]);
      const alpha = Math.sqrt(ab), sigma = Math.sqrt(1 - ab), ratio = Math.sqrt(1 - abNext) / sigma;
      const a = 1 / (Math.sqrt(abNext) - ratio * alpha), b = -ratio * a;
      if (prediction === 'sample') { p.push(b); q.push(a); }
      else if (prediction === 'epsilon') { p.push((1 - alpha * b) / sigma); q.push(-alpha * a / sigma); }
      else { p.push((alpha - b) / sigma); q.push(-a / sigma); }
    });
    return schedulerAddNoise(zt, z2, p, q);
  }

  /** One guided, clipped DDIM step of the teacher for every item, from its timestep `from` to `to`. */
  private teacherStep(z: Tensor, from: Int32Array, to: Int32Array, labels: Int32Array | null): Tensor {
    const out = labels && this.guidanceScale !== 1
      ? guidedForward(this.teacher, z, from, labels, this.guidanceScale, { mode: 'inference', cache: this.cache })
      : this.teacher.forward(z, from, labels, { mode: 'inference', cache: this.cache });
    const next = new Tensor(z.shape);
    const prediction = this.scheduler.config.predictionType;
    from.forEach((t, n) => {
      const ab = this.ab(t), abPrev = this.ab(to[n]);
      const sqrtAb = Math.sqrt(ab), sqrtOneMinusAb = Math.sqrt(1 - ab);
      // x0 = a·z + b·out for the teacher's parameterisation (DDIM eq. 12), clipped; eps from the clipped x0.
      const [a, b] = prediction === 'epsilon' ? [1 / sqrtAb, -sqrtOneMinusAb / sqrtAb]
        : prediction === 'sample' ? [0, 1] : [sqrtAb, -sqrtOneMinusAb];
      const { prevSample } = schedulerStep(rows(z, n, n + 1), rows(out, n, n + 1), {
        a, b, c: 1 / sqrtOneMinusAb, d: 0, e: -sqrtAb / sqrtOneMinusAb,
        f: Math.sqrt(abPrev), g: 0, h: Math.sqrt(1 - abPrev), sigma: 0, clipRange: 1,
      });
      rows(next, n, n + 1).view().set(prevSample.view());
      prevSample.dispose();
    });
    return next;
  }
}
