/**
 * Progressive distillation over several rounds (Salimans & Ho 2022, Algorithm 2): round r trains a student to
 * sample in N_r = fromSteps / 2^(r+1) steps what its teacher samples in 2 N_r; the next round's teacher is that
 * student (its EMA weights), and each student starts from its teacher's weights. The first teacher is the trained
 * model, guided at `guidanceScale` when it is class-conditional; later teachers carry the guidance in their
 * weights, so they run unguided, and the final student samples with guidance 1 in `toSteps` DDIM steps on the
 * trailing grid (train/distillation-teacher.ts).
 *
 * The run is a pure function of its options: round r draws with seed `seed + r`, so a state written at any step
 * (`encodeState`) resumes bit for bit, with any number of workers.
 */
import type { Dataset } from '../data/dataset.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import type { Denoiser } from '../models/denoiser.ts';
import type { ModelKind } from '../models/model.ts';
import { FORMAT_VERSION, readMetadata, type ModelMetadata } from '../models/model-file.ts';
import { createModel } from '../models/registry.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import type { Tensor } from '../tensor.ts';
import { DistillationTrainer } from './distillation.ts';
import type { StepReport, TrainerOptions } from './trainer.ts';

/** The hyperparameters of a run (the trainer's apply to every round). */
export interface ProgressiveDistillationOptions extends Omit<TrainerOptions, 'model' | 'scheduler' | 'dataset' | 'condDropProb' | 'decaySteps'> {
  /** The first teacher's sampling steps: toSteps times a power of 2. Default 64. */
  fromSteps?: number;
  /** The final student's sampling steps. */
  toSteps: number;
  /** Training steps of each round (the learning rate decays to 0 along a half cosine within each). Default 1000. */
  stepsPerRound?: number;
  /** The first teacher's classifier-free guidance scale, distilled into the students. Default 1. */
  guidanceScale?: number;
}

/** A step's report, with the round it belongs to. */
export interface DistillationStepReport extends StepReport {
  /** 0-based round, of `rounds`. */
  round: number;
  rounds: number;
  /** The sampling steps of this round's student. */
  studentSteps: number;
  /** Steps taken over all rounds. */
  totalStep: number;
}

/** What a distillation state records besides the trainer's tensors. */
interface StateRecord { round: number; step: number; options: ProgressiveDistillationOptions }

export class ProgressiveDistillation {
  readonly options: Required<Omit<ProgressiveDistillationOptions, 'workers'>> & { workers?: number };
  readonly rounds: number;
  /** The current round (0-based), its teacher and its trainer (whose model is the student). */
  round = 0;
  teacher: Denoiser;
  trainer: DistillationTrainer;

  constructor(readonly model: Denoiser, readonly scheduler: NoiseScheduler<SchedulerOptions>, readonly dataset: Dataset, options: ProgressiveDistillationOptions) {
    const { fromSteps = 64, stepsPerRound = 1000, guidanceScale = 1, toSteps } = options;
    const rounds = Math.log2(fromSteps / toSteps);
    if (!Number.isInteger(toSteps) || toSteps < 1) throw new Error(`ProgressiveDistillation: toSteps must be an integer >= 1, got ${toSteps}`);
    if (!Number.isInteger(rounds) || rounds < 1) {
      throw new Error(`ProgressiveDistillation: fromSteps (${fromSteps}) must be toSteps (${toSteps}) times a power of 2 (2, 4, 8, ...)`);
    }
    if (!Number.isInteger(stepsPerRound) || stepsPerRound < 1) throw new Error(`ProgressiveDistillation: stepsPerRound must be an integer >= 1, got ${stepsPerRound}`);
    this.options = { ...options, fromSteps, stepsPerRound, guidanceScale, toSteps } as ProgressiveDistillation['options'];
    this.rounds = rounds;
    this.teacher = this.copy(model);
    this.trainer = this.startRound(0);
  }

  /** The sampling steps of round r's student. */
  studentSteps(round = this.round): number {
    return this.options.fromSteps / 2 ** (round + 1);
  }

  /** The options a file records: all but `workers`, which changes the speed, never the result. */
  get recordedOptions(): Record<string, number> {
    const { workers: _workers, ...recorded } = this.options;
    return recorded as unknown as Record<string, number>;
  }

  /** Steps taken over all rounds. */
  get totalStep(): number {
    return this.round * this.options.stepsPerRound + this.trainer.step;
  }

  /** Whether every round has run all its steps. */
  get done(): boolean {
    return this.round === this.rounds - 1 && this.trainer.step >= this.options.stepsPerRound;
  }

  /** The final (or current) student: the EMA weights of the current round's trainer. */
  get studentWeights(): Tensor {
    return this.trainer.ema;
  }

  /** Runs until every round is done (or at most `steps` more steps), yielding a report after each step. */
  async *run({ steps = Infinity }: { steps?: number } = {}): AsyncGenerator<DistillationStepReport> {
    for (let taken = 0; taken < steps && !this.done; taken++) {
      if (this.trainer.step >= this.options.stepsPerRound) await this.nextRound();
      const report = await this.trainer.trainStep();
      yield { ...report, round: this.round, rounds: this.rounds, studentSteps: this.studentSteps(), totalStep: this.totalStep };
    }
  }

  /** The state of the run: everything `restoreState` needs to continue it bit for bit. */
  encodeState(meta: Omit<ModelMetadata, 'version' | 'kind' | 'config' | 'training'>): Uint8Array {
    const { trainer } = this;
    const flat = (name: string, t: Tensor) => ({ name, shape: [t.size], data: t.toFloat32Array() });
    const metadata: ModelMetadata = {
      version: FORMAT_VERSION, kind: this.model.kind as ModelKind, config: this.model.config, ...meta,
      training: { steps: this.totalStep, options: this.recordedOptions },
    };
    const record: StateRecord = { round: this.round, step: trainer.step, options: this.recordedOptions as unknown as ProgressiveDistillationOptions };
    return encodeSafetensors([
      flat('params', trainer.model.params.values), flat('ema', trainer.ema), flat('adam.m', trainer.adamM), flat('adam.v', trainer.adamV),
      flat('teacher', this.teacher.params.values),
    ], { ddpm_wasm: JSON.stringify(metadata), distillation: JSON.stringify(record) });
  }

  /** Continues the run a state was written from (the same model config and options). */
  async restoreState(bytes: Uint8Array, source = 'the distillation state'): Promise<void> {
    const { tensors, metadata } = decodeSafetensors(bytes, source);
    const meta = readMetadata(metadata, source);
    if (JSON.stringify(meta.config) !== JSON.stringify(this.model.config)) throw new Error(`${source} was written for another model config`);
    let record: StateRecord;
    try {
      record = JSON.parse(metadata.distillation ?? 'null');
    } catch {
      throw new Error(`${source}: its 'distillation' metadata is not valid JSON`);
    }
    if (!record || !Number.isInteger(record.round) || record.round < 0 || record.round >= this.rounds || !Number.isInteger(record.step) || record.step < 0) {
      throw new Error(`${source} is not a distillation state of this run (no valid 'distillation' record: round and step)`);
    }
    for (const [key, value] of Object.entries(record.options)) {
      const mine = (this.options as Record<string, unknown>)[key];
      if (key !== 'workers' && JSON.stringify(mine) !== JSON.stringify(value)) {
        throw new Error(`${source} was written with ${key} = ${JSON.stringify(value)}; resuming with ${key} = ${JSON.stringify(mine)} would not continue the same run`);
      }
    }
    const size = this.model.params.size;
    const take = (name: string): Float32Array => {
      const t = tensors.get(name);
      if (!t || t.data.length !== size) throw new Error(`${source}: '${name}' is missing or has the wrong size (the model has ${size} parameters)`);
      return t.data;
    };
    await this.trainer.dispose();
    this.round = record.round;
    this.teacher.params.values.view().set(take('teacher'));
    this.trainer = this.startRound(record.round);
    this.trainer.model.params.values.view().set(take('params'));
    this.trainer.ema.view().set(take('ema'));
    this.trainer.adamM.view().set(take('adam.m'));
    this.trainer.adamV.view().set(take('adam.v'));
    this.trainer.step = record.step;
  }

  /** Frees the teacher, the student and the trainer (the original model is left alone). */
  async dispose(): Promise<void> {
    await this.trainer.dispose();
    for (const model of new Set([this.teacher, this.trainer.model])) disposeParams(model);
  }

  /** The next round: the student's EMA becomes the teacher, and the new student starts from it. */
  private async nextRound(): Promise<void> {
    this.teacher.params.values.view().set(this.trainer.ema.view());
    const student = this.trainer.model;
    await this.trainer.dispose();
    disposeParams(student);
    this.round++;
    this.trainer = this.startRound(this.round);
  }

  /** Round r's trainer: a student copied from the teacher, guidance only in the first round. */
  private startRound(round: number): DistillationTrainer {
    const { fromSteps: _from, toSteps: _to, stepsPerRound, guidanceScale, seed = 0, ...trainer } = this.options;
    return new DistillationTrainer({
      ...trainer, model: this.copy(this.teacher), teacher: this.teacher, scheduler: this.scheduler, dataset: this.dataset,
      studentSteps: this.studentSteps(round), guidanceScale: round === 0 ? guidanceScale : 1, seed: seed + round, decaySteps: stepsPerRound,
    });
  }

  private copy(model: Denoiser): Denoiser {
    const copy = createModel(model.kind as ModelKind, model.config);
    copy.params.values.view().set(model.params.values.view());
    return copy;
  }
}

function disposeParams(model: Denoiser): void {
  model.params.values.dispose();
  model.params.grads.dispose();
}
