/**
 * `ddpm info FILE`: what a model file (or a training state, or a shipped model by name) holds: the model and its
 * config, the parameter count, the scheduler, the data and how long it was trained, without sampling anything;
 * or what a diffusers pipeline folder holds (cli/diffusers.ts).
 */
import { statSync } from 'node:fs';
import { Command } from 'commander';
import type { ModelMetadata } from '../bindings/index.ts';
import { readMetadata } from '../bindings/models/model-file.ts';
import { readFileBytes } from '../bindings/io/files.ts';
import { readSafetensorsHeader, WEIGHT_DTYPE, type HeaderEntry } from '../bindings/io/safetensors.ts';
import { describeDiffusersFolder, isFolder } from './diffusers.ts';
import { resolveModelFile, SHIPPED_MODELS } from './models.ts';
import { addCommonOptions, shown } from './options.ts';

export function infoCommand(): Command {
  const command = new Command('info')
    .description('print what a model file holds: config, parameter count, training steps, data, scheduler')
    .argument('<file>', `a .safetensors model or training state, a shipped model (${Object.keys(SHIPPED_MODELS).join(', ')}), or a diffusers folder`)
    .addHelpText('after', `
Examples:
  ddpm info runs/ring/model.safetensors
  ddpm info runs/ring/training-state.safetensors
  ddpm info mnist
  ddpm info mnist-diffusers                     a folder written by 'ddpm export' or by diffusers' save_pretrained`);
  return addCommonOptions(command).action(async (file: string) => {
    process.stdout.write(await describeFile(file));
  });
}

/** The description of a model file, as printed lines. */
export async function describeFile(value: string): Promise<string> {
  if (isFolder(value)) return describeDiffusersFolder(value);
  const path = resolveModelFile(value, '');
  return describeBytes(await readFileBytes(path), shown(path), statSync(path).size);
}

/**
 * The description of model-file bytes (`source` names them; `fileSize` in bytes). Reads the checked header and
 * metadata only, never the weights, so a damaged file gets the same one-line errors as sampling would give.
 */
export function describeBytes(bytes: Uint8Array, source: string, fileSize: number): string {
  const { entries, metadata } = readSafetensorsHeader(bytes, source);
  const meta = readMetadata(metadata, source);
  const isState = entries.some((entry) => entry.name === 'adam.m');
  // A training state holds flat buffers (parameters, EMA, AdamW moments); a model file one tensor per parameter.
  const params = entries.find((entry) => entry.name === 'params');
  if (isState && !params) throw new Error(`${source} is not a complete training state: it has no 'params'`);
  const parameters = isState ? params!.count : entries.reduce((n, entry) => n + entry.count, 0);
  const rows: [string, string][] = [
    ['file', `${isState ? 'training state (for ddpm train --resume)' : 'model'}, ${formatBytes(fileSize)}, format version ${meta.version}`],
    ['model', `${meta.kind}, ${parameters.toLocaleString('en-US')} parameters${isState ? '' : ` in ${entries.length} tensors, ${storedAs(entries)}`}`],
    ['config', formatObject(meta.config)],
    ['scheduler', formatObject(meta.scheduler)],
    ['data', describeData(meta.data)],
    ['training', `${meta.training.steps.toLocaleString('en-US')} steps`],
  ];
  if (meta.training.options) rows.push(['options', formatObject(meta.training.options)]);
  const width = Math.max(...rows.map(([key]) => key.length));
  return `${source}\n${rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`).join('\n')}\n`;
}

function describeData(data: ModelMetadata['data']): string {
  const classes = data.classNames.length;
  const names = classes === 0 ? 'no classes' : `${classes} classes: ${data.classNames.slice(0, 12).join(', ')}${classes > 12 ? ', ...' : ''}`;
  const condition = data.condition ? `; conditioned (${data.condition.task}) on images [${data.condition.inputShape.join(', ')}]` : '';
  return `${data.name}, samples [${data.sampleShape.join(', ')}], ${names}${condition}`;
}

/** `{ a: 1, b: [2, 3] }` as 'a 1, b [2, 3]'. */
function formatObject(object: object): string {
  return Object.entries(object)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key} ${formatValue(value)}`)
    .join(', ');
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.length > 8 ? `[${value.length} values]` : `[${value.join(', ')}]`;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** How the weights are stored: 'float16', or e.g. 'float32 and float16' when tensors differ. */
function storedAs(entries: readonly HeaderEntry[]): string {
  return [...new Set(entries.map((e) => WEIGHT_DTYPE[e.dtype] ?? e.dtype))].join(' and ');
}
