/**
 * Progress of a training run: on a terminal, a cli-progress bar with the step, the loss (exponentially smoothed),
 * steps per second and the time left; elsewhere (a pipe, a log file, CI), a plain line every few seconds, so logs
 * stay readable. Speed is measured over the last few seconds, so it follows the machine's current load.
 */
import cliProgress from 'cli-progress';
import type { StepReport } from '../bindings/index.ts';

export interface ProgressOptions {
  /** Where to draw. Default process.stdout. */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. Default 5. */
  lineSeconds?: number;
  /** Print nothing at all. Default false. */
  quiet?: boolean;
}

/** Weight of the newest loss in the smoothed loss (a horizon of about 50 steps). */
const SMOOTHING = 0.02;
/** Window of the speed estimate, in seconds. */
const SPEED_WINDOW = 5;

export class TrainingProgress {
  private readonly stream: NodeJS.WriteStream;
  private readonly bar: cliProgress.SingleBar | null;
  private readonly lineSeconds: number;
  private readonly quiet: boolean;
  private average = 0;
  private weight = 0;
  private lastLine = performance.now();
  /** Recent (time in ms, step) pairs for the speed estimate. */
  private readonly recent: [number, number][];

  /** A run going from step `first` (the steps already done) to step `total`. */
  constructor(private readonly total: number, first: number, options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.lineSeconds = options.lineSeconds ?? 5;
    this.quiet = options.quiet ?? false;
    this.recent = [[performance.now(), first]];
    this.bar = !this.quiet && this.stream.isTTY ? new cliProgress.SingleBar({
      format: 'step {value}/{total} [{bar}] loss {loss} | {speed} steps/s | {left} left',
      barsize: 24, hideCursor: true, stream: this.stream, fps: 5, etaBuffer: 1,
    }, cliProgress.Presets.shades_classic) : null;
    this.bar?.start(total, first, { loss: '-', speed: '-', left: '-' });
  }

  /** The smoothed loss (bias-corrected, as Adam's moments are), or NaN before the first step. */
  get smoothedLoss(): number {
    return this.weight > 0 ? this.average / this.weight : NaN;
  }

  /** Records a step's report and redraws (or prints a line when the last one is old enough). */
  update(report: Pick<StepReport, 'step' | 'loss'>): void {
    this.average = (1 - SMOOTHING) * this.average + SMOOTHING * report.loss;
    this.weight = (1 - SMOOTHING) * this.weight + SMOOTHING;
    const now = performance.now();
    this.recent.push([now, report.step]);
    while (this.recent.length > 2 && now - this.recent[1][0] > SPEED_WINDOW * 1000) this.recent.shift();
    if (this.quiet) return;
    const fields = this.fields(report.step);
    if (this.bar) {
      this.bar.update(report.step, fields);
    } else if (now - this.lastLine >= this.lineSeconds * 1000 || report.step === this.total) {
      this.lastLine = now;
      this.stream.write(`step ${report.step}/${this.total}  loss ${fields.loss}  ${fields.speed} steps/s  ${fields.left} left\n`);
    }
  }

  /** Ends the bar (leaving its last state on screen). */
  stop(): void {
    this.bar?.stop();
  }

  private fields(step: number): { loss: string; speed: string; left: string } {
    const [[t0, s0]] = this.recent;
    const [t1, s1] = this.recent[this.recent.length - 1];
    const speed = t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : NaN;
    const loss = this.smoothedLoss;
    return {
      loss: Number.isFinite(loss) ? loss.toFixed(4) : '-',
      speed: Number.isFinite(speed) ? (speed >= 10 ? speed.toFixed(0) : speed.toFixed(1)) : '-',
      left: speed > 0 ? formatDuration((this.total - step) / speed) : '-',
    };
  }
}

/** Seconds as '45s', '3m05s' or '2h07m'. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Progress of sampling: a bar on a terminal, a line every few seconds elsewhere. */
export class SamplingProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private lastLine = performance.now();

  constructor(private readonly total: number, private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stdout) {
    this.bar = stream.isTTY ? new cliProgress.SingleBar({
      format: `${label} [{bar}] step {value}/{total} | {eta_formatted} left`, barsize: 24, hideCursor: true, stream, fps: 5,
    }, cliProgress.Presets.shades_classic) : null;
    this.bar?.start(total, 0);
  }

  update(done: number): void {
    if (this.bar) {
      this.bar.update(done);
    } else if (performance.now() - this.lastLine >= 5000 && done < this.total) {
      this.lastLine = performance.now();
      this.stream.write(`${this.label}: step ${done}/${this.total}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
