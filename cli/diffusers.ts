/**
 * diffusers pipeline folders in the command: `ddpm sample --model DIR` samples one (the model and its scheduler
 * from the folder; the samples as with any model file), and `ddpm info DIR` describes one (pipeline, scheduler,
 * weights, and the U-Net in this library's terms, or why this library cannot build it).
 */
import { statSync } from 'node:fs';
import { diffusersFolderToModel, diffusersModelMetadata, readDiffusersFolder, unetConfigFromDiffusers, type Denoiser, type ModelMetadata } from '../bindings/index.ts';
import { readDiffusersFolderFiles } from '../bindings/interop/diffusers-folder-files.ts';
import { shown } from './options.ts';

/** Whether `path` is a folder (a diffusers folder is the only folder a model flag accepts). */
export function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** The U-Net and its model-file metadata (scheduler from scheduler/scheduler_config.json) of a diffusers folder. */
export async function loadDiffusersDenoiser(dir: string): Promise<{ model: Denoiser; metadata: ModelMetadata; path: string }> {
  const imported = diffusersFolderToModel(await readDiffusersFolderFiles(dir), { source: shown(dir) });
  return { model: imported.model, metadata: diffusersModelMetadata(imported), path: dir };
}

/** The description of a diffusers folder, as printed lines. */
export async function describeDiffusersFolder(dir: string): Promise<string> {
  const source = shown(dir);
  const files = await readDiffusersFolderFiles(dir);
  const folder = readDiffusersFolder(files, { source });
  const weights = [...folder.weights.values()].filter((t) => t.name !== 'time_proj.W');
  const parameters = weights.reduce((n, t) => n + t.data.length, 0);
  const o = folder.unet;
  let build: string;
  try {
    build = `builds here as ${formatObject(unetConfigFromDiffusers(o, `${source}/unet/config.json`))}`;
  } catch (error) {
    build = (error as Error).message;
  }
  const rows: [string, string][] = [
    ['folder', folder.index ? `diffusers ${folder.index.pipeline} (model_index.json)` : 'a diffusers UNet2DModel folder (config.json, no pipeline)'],
    ['weights', `${folder.weightsPath}, ${folder.dtype}, ${parameters.toLocaleString('en-US')} parameters in ${weights.length} tensors`],
    ['unet', `UNet2DModel, samples ${Array.isArray(o.sampleSize) ? o.sampleSize.join('x') : o.sampleSize}, ${o.inChannels} -> ${o.outChannels} channels, ` +
      `blocks ${o.downBlockTypes.join(', ')} / ${o.upBlockTypes.join(', ')}, block_out_channels [${o.blockOutChannels.join(', ')}]`],
    ['this library', build],
  ];
  if (folder.scheduler) rows.push(['scheduler', `${folder.scheduler.className}: ${formatObject(folder.scheduler.options)}`]);
  const width = Math.max(...rows.map(([key]) => key.length));
  return `${source}\n${rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`).join('\n')}\n`;
}

/** `{ a: 1, b: [2, 3] }` as 'a 1, b [2, 3]' (null entries left out). */
function formatObject(object: object): string {
  return Object.entries(object)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key} ${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}`)
    .join(', ');
}
