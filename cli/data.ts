/**
 * What `--data` names: a 2-D toy (gaussian8, moons, swissroll), the digits (mnist, colored-mnist), or a folder of
 * images (one sub-folder per class, or images directly inside). Toys are points in about [-4, 4]^2; images are
 * [C, S, S] in [-1, 1].
 */
import { statSync } from 'node:fs';
import { TOY_NAMES, toyDataset, type Dataset, type ToyName } from '../bindings/index.ts';
import { coloredMnistAttributesDataset, coloredMnistDataset, mnistDataset } from '../bindings/data/mnist.ts';
import { ConditionedDataset, type ConditionTask } from '../bindings/data/conditioned.ts';
import { fail } from './errors.ts';

export const DIGIT_DATA = ['mnist', 'colored-mnist', 'colored-mnist-attributes'] as const;
export const BUILTIN_DATA: readonly string[] = [...TOY_NAMES, ...DIGIT_DATA];

/** Points of the toys in a training run (and in the scatter plot's background). */
export const TOY_SIZE = 20000;

/** Whether `name` is a 2-D toy. */
export function isToy(name: string): name is ToyName {
  return (TOY_NAMES as readonly string[]).includes(name);
}

/** Whether `name` is one of the digit datasets (28x28 digits, possibly padded). */
export function isDigits(name: string): boolean {
  return (DIGIT_DATA as readonly string[]).includes(name);
}

export interface DataRequest {
  /** --data: a built-in name or a folder. */
  data: string;
  /** Side of the images (images only). */
  imageSize: number;
  /** Channels of a folder's images: 1 (grey) or 3 (RGB). */
  channels: number;
  /** The digits' split: 'train' (default) or the held-out 'test' digits. */
  split?: 'train' | 'test';
  /** A conditioning task: each sample paired with its conditioning image (data/conditioned.ts). */
  task?: ConditionTask | null;
}

/** Loads the data a run asked for. */
export async function loadData(request: DataRequest): Promise<Dataset> {
  const dataset = await loadPlainData(request);
  return request.task ? new ConditionedDataset(dataset, request.task) : dataset;
}

async function loadPlainData({ data, imageSize, channels, split = 'train' }: DataRequest): Promise<Dataset> {
  if (isToy(data)) return toyDataset(data, TOY_SIZE, 0);
  if (data === 'mnist') return mnistDataset({ split, imageSize });
  if (data === 'colored-mnist') return coloredMnistDataset({ split, imageSize });
  if (data === 'colored-mnist-attributes') return coloredMnistAttributesDataset({ split, imageSize });
  checkFolder(data);
  // Loaded on demand: the folder reader brings in the image decoder, which the other data do not need.
  const { imageFolderDataset } = await import('../bindings/data/folder.ts');
  const onWarning = (message: string) => process.stderr.write(`warning: ${message.replace(/^imageFolderDataset: /, '')}\n`);
  try {
    return await imageFolderDataset(data, { imageSize, channels, onWarning });
  } catch (error) {
    fail(`--data ${data}: ${(error as Error).message.replace(/^imageFolderDataset: /, '')}`);
  }
}

/** Fails unless `path` is a readable folder, naming the built-in data in case a name was mistyped. */
function checkFolder(path: string): void {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? 'permission denied' : String(error);
    fail(`--data ${path}: ${why} (the built-in data are ${BUILTIN_DATA.join(', ')}; anything else is a folder of images)`);
  }
  if (!isFolder) fail(`--data ${path}: not a folder (give a folder of images, one sub-folder per class, or one of ${BUILTIN_DATA.join(', ')})`);
}
