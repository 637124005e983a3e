/**
 * Datasets for training: a fixed set of samples (2-D points or images in [-1, 1]) with optional class labels.
 * The order in which a training run visits them is a pure function of the seed and the epoch (`DataOrder`), so a
 * resumed run sees exactly the batches it would have seen.
 */
import { randInt } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { toClassLabels } from '../core/class-labels.ts';
import { Tensor, tidy } from '../tensor.ts';

export interface Dataset {
  /** How the data is named in checkpoints and on the command line (e.g. 'gaussian8', 'mnist'). */
  readonly name: string;
  readonly size: number;
  /** Shape of one sample: [2] for points, [C, H, W] for images. */
  readonly sampleShape: readonly number[];
  /** Number of class labels (0 when unlabelled). */
  readonly numClasses: number;
  /** A name per class label, when labelled (e.g. '7', or '7 red' for colored digits). */
  readonly classNames: readonly string[];
  /**
   * For a conditioning task (data/conditioned.ts): the shape of one conditioning image as the model takes it
   * ([k, H, W]), and the task's name. Absent otherwise.
   */
  readonly condition?: { readonly task: string; readonly shape: readonly number[]; readonly inputShape: readonly number[] };
  /**
   * The samples at `indices` as one tensor [B, ...sampleShape], their labels (null when unlabelled), and for a
   * conditioning task their conditioning images [B, ...condition.shape].
   */
  batch(indices: Int32Array): { x: Tensor; labels: Int32Array | null; condition?: Tensor };
}

/** A dataset held in memory as one Float32Array of samples, back to back. */
export class ArrayDataset implements Dataset {
  readonly size: number;
  private readonly sampleSize: number;

  constructor(
    readonly name: string,
    private readonly data: Float32Array,
    readonly sampleShape: readonly number[],
    private readonly labels: Int32Array | null = null,
    readonly classNames: readonly string[] = [],
  ) {
    this.sampleSize = sampleShape.reduce((a, b) => a * b, 1);
    this.size = data.length / this.sampleSize;
    if (!Number.isInteger(this.size)) throw new Error(`${name}: ${data.length} values do not make whole samples of shape [${sampleShape.join(', ')}]`);
    if (labels) {
      toClassLabels(`${name}: labels`, labels, classNames.length > 0 ? classNames.length : 2 ** 31 - 1);
      if (!(labels instanceof Int32Array)) throw new Error(`${name}: labels must be an Int32Array, got ${Array.isArray(labels) ? 'an array' : typeof labels}`);
      if (labels.length !== this.size) throw new Error(`${name}: ${labels.length} labels for ${this.size} samples`);
    }
  }

  get numClasses(): number { return this.classNames.length; }

  batch(indices: Int32Array): { x: Tensor; labels: Int32Array | null } {
    const x = new Tensor([indices.length, ...this.sampleShape]);
    const view = x.view();
    indices.forEach((index, i) => {
      if (!(index >= 0 && index < this.size)) throw new Error(`${this.name}: sample index ${index} is out of range (size ${this.size})`);
      view.set(this.data.subarray(index * this.sampleSize, (index + 1) * this.sampleSize), i * this.sampleSize);
    });
    return { x, labels: this.labels ? Int32Array.from(indices, (index) => this.labels![index]) : null };
  }

  /** The samples (and labels) at `indices` as a new in-memory dataset, e.g. a held-out split. */
  subset(name: string, indices: ArrayLike<number>): ArrayDataset {
    const data = new Float32Array(indices.length * this.sampleSize);
    for (let i = 0; i < indices.length; i++) data.set(this.data.subarray(indices[i] * this.sampleSize, (indices[i] + 1) * this.sampleSize), i * this.sampleSize);
    const labels = this.labels ? Int32Array.from(indices, (index) => this.labels![index]) : null;
    return new ArrayDataset(name, data, this.sampleShape, labels, this.classNames);
  }
}

/**
 * Which sample comes at each position of a training run: epoch e is a random permutation of the dataset, drawn
 * from (seed, e) alone; position p of the run is element p mod size of epoch floor(p / size).
 */
export class DataOrder {
  private epoch = -1;
  private permutation = new Int32Array(0);

  constructor(readonly size: number, readonly seed: number) {}

  /** The dataset indices of run positions [start, start + count). */
  indices(start: number, count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const position = start + i;
      const epoch = Math.floor(position / this.size);
      if (epoch !== this.epoch) this.shuffle(epoch);
      out[i] = this.permutation[position - epoch * this.size];
    }
    return out;
  }

  /** Sorts the indices by random 31-bit keys (ties by index): a uniform permutation, integer arithmetic only. */
  private shuffle(epoch: number): void {
    const keys = tidy(() => randInt(this.size, 0x7fffffff, { seed: this.seed, offset: epoch * this.size, stream: STREAMS.dataOrder }));
    this.permutation = Int32Array.from({ length: this.size }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
    this.epoch = epoch;
  }
}
