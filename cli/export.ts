/**
 * `ddpm export --model M --format diffusers --out DIR`: writes a U-Net model file (or a shipped model) as the
 * folder diffusers' `DDPMPipeline.from_pretrained(DIR)` loads (model_index.json, unet/config.json,
 * unet/diffusion_pytorch_model.safetensors, scheduler/scheduler_config.json), atomically: a failed export leaves
 * no folder behind, and an existing DIR is left as it was unless --overwrite.
 *
 * `ddpm export --model M --format ddpm --dtype float16 --out FILE`: the same model file (any kind) with its weights
 * stored in another dtype (how the shipped digit models are made from the float32 files training writes),
 * written through a temporary file: an existing FILE is left as it was unless --overwrite.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { convertModelFile, modelFileToDiffusersFolder, WEIGHT_DTYPES, type ExportScheduler, type WeightDtype } from '../bindings/index.ts';
import { checkWeightDtype } from '../bindings/interop/diffusers-folder.ts';
import { writeFolderAtomic } from '../bindings/interop/diffusers-folder-files.ts';
import { readFileBytes, writeFileAtomic } from '../bindings/io/files.ts';
import { STORED_DTYPE } from '../bindings/io/safetensors.ts';
import { fail } from './errors.ts';
import { resolveModelFile, SHIPPED_MODELS } from './models.ts';
import { addCommonOptions, checkFolderCreatable, makeFolder, shown } from './options.ts';

/** diffusers: a pipeline folder; ddpm: this library's model file. */
export type ExportFormat = 'diffusers' | 'ddpm';

export interface ExportFlags {
  model: string;
  format: ExportFormat;
  out: string;
  dtype: WeightDtype;
  scheduler: ExportScheduler;
  overwrite?: boolean;
}

export function exportCommand(): Command {
  const command = new Command('export')
    .description('write a U-Net model as a diffusers pipeline folder (DDPMPipeline.from_pretrained loads it), or a model file in another dtype')
    .requiredOption('--model <file|name>', `a model file, or a shipped model: ${Object.keys(SHIPPED_MODELS).join(', ')}`)
    .addOption(new Option('--format <format>', 'diffusers: a pipeline folder (U-Nets); ddpm: a model file').choices(['diffusers', 'ddpm']).makeOptionMandatory())
    .requiredOption('--out <path>', 'the folder (diffusers) or file (ddpm) to write (created with its parents)')
    .addOption(new Option('--dtype <type>', 'storage type of the weights (float16 and bfloat16 rounded to nearest even)').choices(WEIGHT_DTYPES).default('float32'))
    .addOption(new Option('--scheduler <name>', 'diffusers only; ddpm: a DDPMPipeline with DDPMScheduler; ddim: a DDIMPipeline with DDIMScheduler').choices(['ddpm', 'ddim']).default('ddpm'))
    .option('--overwrite', 'replace --out if it exists (the old one stays until the new one is complete)')
    .addHelpText('after', `
Examples:
  ddpm export --model mnist --format diffusers --out mnist-diffusers
  ddpm export --model runs/digits/model.safetensors --format diffusers --out digits --scheduler ddim
  ddpm export --model runs/digits/model.safetensors --format ddpm --dtype float16 --out digits-f16.safetensors

Then, in Python: DDPMPipeline.from_pretrained('mnist-diffusers') (diffusers), or back here:
  ddpm sample --model mnist-diffusers --out samples.png`);
  return addCommonOptions(command).action(async (flags: ExportFlags) => {
    if (flags.format === 'ddpm' && command.getOptionValueSource('scheduler') === 'cli') {
      fail(`--scheduler ${flags.scheduler}: only diffusers folders hold a scheduler choice; a model file keeps its own (leave --scheduler out with --format ddpm)`);
    }
    await (flags.format === 'ddpm' ? exportModelFile(flags) : exportModel(flags));
  });
}

/** Runs `ddpm export --format ddpm`: the model file in `flags.dtype`; returns the file written. */
export async function exportModelFile(flags: ExportFlags, say: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string> {
  checkFolderCreatable('--out', flags.out, dirname(resolve(flags.out)));
  if (existsSync(flags.out)) {
    if (statSync(flags.out).isDirectory()) fail(`--out ${flags.out}: it is a folder; --format ddpm writes a model file (e.g. --out model-f16.safetensors)`);
    if (!flags.overwrite) fail(`--out ${flags.out}: it already exists; choose another file, or pass --overwrite to replace it`);
  }
  const path = resolveModelFile(flags.model, '--model');
  const bytes = convertModelFile(await readFileBytes(path), { dtype: STORED_DTYPE[flags.dtype] }, shown(path));
  makeFolder('--out', flags.out, dirname(resolve(flags.out)));
  await writeFileAtomic(flags.out, bytes);
  say(`wrote ${shown(flags.out)}: the model of ${shown(path)} with its weights in ${flags.dtype} (${(bytes.length / 1024 / 1024).toFixed(1)} MB)`);
  return flags.out;
}

/** Runs `ddpm export`; returns the folder written. */
export async function exportModel(flags: ExportFlags, say: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string> {
  try {
    checkWeightDtype(flags.dtype);
  } catch (error) {
    fail(`--dtype ${flags.dtype}: ${(error as Error).message.replace(/^diffusers folder: /, '')}; use --dtype float32`);
  }
  checkFolderCreatable('--out', flags.out, dirname(resolve(flags.out)));
  if (!flags.overwrite && existsSync(flags.out)) fail(`--out ${flags.out}: it already exists; choose another folder, or pass --overwrite to replace it`);
  const path = resolveModelFile(flags.model, '--model');
  const files = modelFileToDiffusersFolder(await readFileBytes(path), { scheduler: flags.scheduler, dtype: flags.dtype, source: shown(path) });
  makeFolder('--out', flags.out, dirname(resolve(flags.out)));
  await writeFolderAtomic(flags.out, files, { overwrite: flags.overwrite ?? false });
  const bytes = [...files.values()].reduce((n, b) => n + b.length, 0);
  say(`wrote ${shown(flags.out)}: ${flags.scheduler === 'ddpm' ? 'DDPMPipeline with DDPMScheduler' : 'DDIMPipeline with DDIMScheduler'}, ` +
    `UNet2DModel weights in ${flags.dtype} (${files.size} files, ${(bytes / 1024 / 1024).toFixed(1)} MB) from ${shown(path)}`);
  return flags.out;
}
