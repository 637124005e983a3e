/**
 * The files of a training run, in its --out folder:
 *
 *   model.safetensors            the EMA weights, the model and scheduler configs, the data and the training so far
 *   training-state.safetensors   everything --resume needs to continue bit for bit (weights, EMA, AdamW moments, step)
 *   loss.csv                     step,loss,learning_rate,grad_norm,seconds, one row per step
 *   loss.png                     the loss curve
 *   samples.png                  samples from the current EMA weights (a grid, or a scatter plot for 2-D data)
 *
 * Every file is written atomically (a temporary file, then a rename), so a kill at any moment leaves either the
 * previous version or the new one, never half a file; the temporary files a killed run left are removed when the
 * next run opens the folder. While a run trains, it holds train.lock (run-lock.ts): one run per folder.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StepReport } from '../bindings/index.ts';
import { removeStaleTemporaries, writeFileAtomic } from '../bindings/io/files.ts';
import { pictures } from './generate.ts';
import { fail } from './errors.ts';
import { makeFolder, shown } from './options.ts';
import { RunLock } from './run-lock.ts';

export const RUN_FILES = {
  model: 'model.safetensors',
  state: 'training-state.safetensors',
  lossCsv: 'loss.csv',
  lossPng: 'loss.png',
  samples: 'samples.png',
} as const;

const CSV_HEADER = 'step,loss,learning_rate,grad_norm,seconds';

/** One row of loss.csv. */
export interface LossRecord extends StepReport {
  /** Seconds of training since the run began (summed over resumes). */
  seconds: number;
}

export class RunFolder {
  /** The loss log, step by step (read back from loss.csv on resume). */
  readonly losses: LossRecord[] = [];

  private constructor(readonly path: string, private readonly lock: RunLock) {}

  /**
   * Opens --out for a run: creates it when missing (with its parents), takes its lock (refusing a folder
   * another run is using, or one that cannot be written), removes the temporary files of dead runs, and refuses
   * a folder that already holds a model unless resuming, and a resume without a training state. `say` prints
   * notices (a stale lock taken over, leftovers removed). Call `close()` when the run ends.
   */
  static async open(out: string, resume: boolean, say: (line: string) => void): Promise<RunFolder> {
    const path = resolve(out);
    makeFolder('--out', out, path);
    const run = new RunFolder(path, RunLock.acquire(path, shown(path), say));
    try {
      const removed = await removeStaleTemporaries(path);
      if (removed.length > 0) say(`--out ${shown(path)}: removed ${removed.length} temporary file${removed.length > 1 ? 's' : ''} left by a run that stopped mid-write (${removed.join(', ')})`);
      if (resume) {
        if (!exists(run.file('state'))) {
          fail(`--resume: there is no ${RUN_FILES.state} in ${shown(path)} to continue from; leave out --resume to start a new run there`);
        }
      } else if (exists(run.file('model')) || exists(run.file('state'))) {
        fail(`--out ${out}: ${shown(path)} already holds a trained model; pass --resume to continue it, or choose another folder`);
      }
    } catch (error) {
      run.close();
      throw error;
    }
    return run;
  }

  /** Releases the folder's lock (the run is over). */
  close(): void {
    this.lock.release();
  }

  /** The path of one of the run's files (relative to the working folder when inside it, as messages show it). */
  file(name: keyof typeof RUN_FILES): string {
    return join(shown(this.path), RUN_FILES[name]);
  }

  /** Reads the loss log back (rows up to `step`, the resumed step), so that loss.csv continues where it was. */
  readLosses(step: number): void {
    let text: string;
    try {
      text = readFileSync(this.file('lossCsv'), 'utf8');
    } catch {
      return; // A missing log only loses the curve's past, not the run.
    }
    for (const line of text.split('\n').slice(1)) {
      const [s, loss, learningRate, gradNorm, seconds] = line.split(',').map(Number);
      if (Number.isInteger(s) && s >= 1 && s <= step) this.losses.push({ step: s, loss, learningRate, gradNorm, seconds });
    }
  }

  /** Seconds of training before this session (from the loss log). */
  get pastSeconds(): number {
    return this.losses.length > 0 ? this.losses[this.losses.length - 1].seconds : 0;
  }

  /** Writes the training state and the model (state first: resuming needs only it), then the loss log and curve. */
  async writeCheckpoint(state: Uint8Array, model: Uint8Array): Promise<void> {
    await writeFileAtomic(this.file('state'), state);
    await writeFileAtomic(this.file('model'), model);
    await this.writeLosses();
  }

  /** Writes loss.csv and loss.png. */
  async writeLosses(): Promise<void> {
    const rows = this.losses.map((r) => `${r.step},${r.loss},${r.learningRate},${r.gradNorm},${r.seconds.toFixed(3)}`);
    await writeFileAtomic(this.file('lossCsv'), `${[CSV_HEADER, ...rows].join('\n')}\n`);
    if (this.losses.some((r) => r.loss > 0 && Number.isFinite(r.loss))) {
      const { lossCurve, savePicture } = await pictures();
      await savePicture(this.file('lossPng'), await lossCurve(this.losses));
    }
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
