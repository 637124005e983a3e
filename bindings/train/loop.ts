/**
 * The one training loop. A trainer says how to compute one step's gradient (its batch and its loss); the loop
 * does the rest, the same way for every model: the optimizer's update (divergence check, clipping, AdamW with
 * its learning-rate schedule), the EMA of the weights, the step count, and `run` as an async generator so a UI
 * can update between steps. Subclasses: Trainer (diffusion, train/trainer.ts), ClassifierTrainer
 * (train/classifier-trainer.ts).
 */
import type { ParameterSet } from '../nn/parameters.ts';
import { tidy } from '../tensor.ts';
import type { EMA } from './ema.ts';
import type { AdamW, UpdateReport } from './optimizer.ts';

/** What a step's gradient computation reports: the batch's loss, and any other measure of the batch. */
export interface BatchMetrics { loss: number }

/** A step's report: the step just taken (counting from 1), the batch's metrics and the update's. */
export type LoopReport<M extends BatchMetrics> = { step: number } & M & UpdateReport;

export abstract class TrainingLoop<M extends BatchMetrics> {
  /** Steps taken so far. */
  step = 0;

  protected constructor(readonly params: ParameterSet, readonly optimizer: AdamW, readonly averaged: EMA | null) {}

  /**
   * Computes the gradient of step `step`'s loss (0-based) into params.grads, from zero; returns the batch's
   * metrics. Must be a pure function of the options and `step`, so a resumed run continues bit for bit.
   */
  protected abstract computeGradient(step: number): Promise<M> | M;

  /** One step: the gradient, then the update and the EMA. */
  async trainStep(): Promise<LoopReport<M>> {
    const metrics = await this.computeGradient(this.step);
    const update = tidy(() => this.optimizer.update(this.params, metrics.loss, this.step));
    this.averaged?.update(this.params.values, this.step);
    this.step++;
    return { step: this.step, ...metrics, ...update };
  }

  /** Runs `steps` more steps, yielding a report after each. */
  async *run({ steps }: { steps: number }): AsyncGenerator<LoopReport<M>> {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`${this.constructor.name}.run: steps must be a positive integer, got ${steps}`);
    for (let i = 0; i < steps; i++) {
      yield await this.trainStep();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** The learning rate of step `step` (0-based). */
  learningRateAt(step: number): number {
    return this.optimizer.learningRateAt(step);
  }

  /** Frees the optimizer state and the EMA (the model keeps its parameters). */
  async dispose(): Promise<void> {
    this.optimizer.dispose();
    this.averaged?.dispose();
  }
}
