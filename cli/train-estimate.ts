/**
 * The time estimate `ddpm train` prints before its progress bar, measured rather than modelled: the run's own
 * steps are timed (the trainer's time alone, between asking for a step and getting its report, so previews and
 * checkpoints do not count) from the second step of the session on, the first being slower (it starts the
 * worker threads and grows the memory), until at least MIN_STEPS steps and MIN_SECONDS have been measured. One
 * sampling step of the preview model times the previews. The estimate is the time so far, plus the steps left
 * at the measured speed, plus the previews left.
 *
 * What it cannot know is the machine's load to come: other programs starting or stopping change the speed. On
 * the shared 2-core machine of the README's "Your own images" it came within 11% of the measured time while the
 * load stayed about the same, and 38% short when more jobs started mid-run; test/cli/train-defaults.test.ts checks
 * its arithmetic on given times.
 */
import type { StepReport } from '../bindings/index.ts';
import { formatDuration } from './progress.ts';

/** The fewest steps measured before the estimate is given. */
const MIN_STEPS = 5;
/** The least time measured before the estimate is given, in seconds. */
const MIN_SECONDS = 3;

/** A trainer's reports, each with the milliseconds the trainer took to produce it. */
export async function* timedSteps(reports: AsyncIterable<StepReport>): AsyncGenerator<{ report: StepReport; ms: number }> {
  const iterator = reports[Symbol.asyncIterator]();
  try {
    for (;;) {
      const asked = performance.now();
      const next = await iterator.next();
      if (next.done) return;
      yield { report: next.value, ms: performance.now() - asked };
    }
  } finally {
    await iterator.return?.();
  }
}

export interface EstimatePlan {
  /** The step the session starts from (0, or a resumed run's step). */
  first: number;
  /** The step the run ends at. */
  steps: number;
  /** A preview every this many steps (0: only the last one), as `--sample-every`. */
  sampleEvery: number;
  /** performance.now() when the session started. */
  started: number;
}

export class TimeEstimate {
  private measuredSteps = 0;
  private measuredMs = 0;
  private lastStep: number;

  constructor(private readonly plan: EstimatePlan) {
    this.lastStep = plan.first;
  }

  /** Whether the run is long enough to measure before it ends. */
  get possible(): boolean {
    return this.plan.steps - this.plan.first > MIN_STEPS + 1;
  }

  /** Records a step's report and the trainer's time for it; true once enough has been measured. */
  add(report: Pick<StepReport, 'step'>, ms: number): boolean {
    if (report.step > this.plan.first + 1) {
      this.measuredSteps++;
      this.measuredMs += ms;
    }
    this.lastStep = report.step;
    return this.measuredSteps >= MIN_STEPS && this.measuredMs >= MIN_SECONDS * 1000;
  }

  /** Seconds per step, as measured so far. */
  get secondsPerStep(): number {
    return this.measuredMs / this.measuredSteps / 1000;
  }

  /** The previews still to come after the last recorded step: every sampleEvery steps before the end, and the last. */
  get previewsLeft(): number {
    const { sampleEvery, steps } = this.plan;
    const periodic = sampleEvery > 0 ? Math.floor((steps - 1) / sampleEvery) - Math.floor(this.lastStep / sampleEvery) : 0;
    return Math.max(0, periodic) + 1;
  }

  /** The whole session's time in seconds, given a preview's time. */
  totalSeconds(previewSeconds: number, now = performance.now()): number {
    const stepsLeft = this.plan.steps - this.lastStep;
    return (now - this.plan.started) / 1000 + stepsLeft * this.secondsPerStep + this.previewsLeft * previewSeconds;
  }

  /** The line printed before the progress bar. */
  describe(previewSeconds: number, now = performance.now()): string {
    const { first, steps } = this.plan;
    const perStep = this.secondsPerStep;
    const speed = perStep >= 1 ? `${perStep.toFixed(1)} s per step` : perStep >= 0.01 ? `${(1 / perStep).toFixed(1)} steps/s` : `${Math.round(1 / perStep)} steps/s`;
    const previews = this.previewsLeft;
    return `estimated time: ${formatDuration(this.totalSeconds(previewSeconds, now))} for steps ${first + 1}-${steps} ` +
      `(${speed}, measured on steps ${first + 2}-${this.lastStep}; ${previews} preview${previews > 1 ? 's' : ''} of ${formatSeconds(previewSeconds)}), ` +
      'if the machine stays as busy as it is now';
  }
}

function formatSeconds(seconds: number): string {
  return seconds >= 10 ? formatDuration(seconds) : `${seconds.toFixed(1)}s`;
}
