/**
 * One round of progressive distillation (Salimans & Ho 2022) as a configuration of the diffusion trainer; the
 * teacher's targets are made by train/distillation-teacher.ts (see there for the method).
 */
import { randInt, randn } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { modelMessage } from '../models/registry.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import { DistillationTeacher, type DistillationRecipe } from './distillation-teacher.ts';
import type { ShardInput, TargetSource } from './gradients.ts';
import { Trainer, type TrainerOptions } from './trainer.ts';
import type { TeacherMessage } from './workers.ts';

/** The options of a distillation round: the trainer's (the student is `model`), the teacher and the recipe. */
export interface DistillationOptions extends Omit<TrainerOptions, 'condDropProb'>, DistillationRecipe {
  /** The teacher: the trained model, or the previous round's student. Its weights are not changed. */
  teacher: Denoiser;
}

/**
 * One round of progressive distillation as a configuration of the diffusion trainer: its batches are real
 * samples at the student's timesteps, with no label dropout (the student is always conditioned; the guidance is in
 * its targets), and its targets come from the teacher, shard by shard.
 */
export class DistillationTrainer extends Trainer {
  readonly teacher: DistillationTeacher;

  constructor(options: DistillationOptions) {
    const { teacher, studentSteps, guidanceScale, ...trainer } = options;
    super({ ...trainer, condDropProb: 0 });
    if (JSON.stringify(teacher.config) !== JSON.stringify(this.model.config) || teacher.kind !== this.model.kind) {
      throw new Error('DistillationTrainer: the student must have the architecture of its teacher (the same kind and config)');
    }
    this.teacher = new DistillationTeacher(teacher, this.scheduler, { studentSteps, guidanceScale });
  }

  /**
   * The inputs of step `step`: sample g = step * batchSize + i of the data order, at student timestep number g of
   * the distillation's timestep stream, with noise numbers g*M .. g*M + M - 1 of its noise stream. No target: the
   * teacher makes it per shard.
   */
  override drawBatch(step: number): ShardInput {
    const { batchSize: B, seed } = this.options;
    const first = step * B;
    const { x: x0, labels } = this.dataset.batch(this.order.indices(first, B));
    const grid = this.teacher.grid;
    const timesteps = Int32Array.from(randInt(B, grid.length - 1, { seed, offset: first, stream: STREAMS.distillationTimesteps }), (k) => grid[k]);
    const noise = randn(x0.shape, { seed, offset: first * (x0.size / B), stream: STREAMS.distillationNoise });
    return { x: this.scheduler.addNoise(x0, noise, timesteps), timesteps, labels: this.model.numClasses > 0 ? labels : null, target: null, firstSample: first };
  }

  override async dispose(): Promise<void> {
    this.teacher.dispose();
    await super.dispose();
  }

  protected override targetSource(): TargetSource {
    return this.teacher;
  }

  /** The teacher as plain data, for the workers to rebuild it. */
  protected override teacherMessage(): TeacherMessage {
    const { teacher } = this.teacher;
    return {
      ...modelMessage(teacher),
      scheduler: this.scheduler.config as SchedulerOptions,
      recipe: { studentSteps: this.teacher.grid.length - 1, guidanceScale: this.teacher.guidanceScale },
    };
  }
}
