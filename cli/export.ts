/**
 * `ddpm export --model M --format diffusers --out DIR`: writes a U-Net model file (or a shipped model) as the
 * folder diffusers' `DDPMPipeline.from_pretrained(DIR)` loads (model_index.json, unet/config.json,
 * unet/diffusion_pytorch_model.safetensors, scheduler/scheduler_config.json), atomically: a failed export leaves
 * no folder behind, and an existing DIR is left as it was unless --overwrite.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { modelFileToDiffusersFolder, WEIGHT_DTYPES, type ExportScheduler, type WeightDtype } from '../bindings/index.ts';
import { checkWeightDtype } from '../bindings/interop/diffusers-folder.ts';
import { writeFolderAtomic } from '../bindings/interop/diffusers-folder-files.ts';
import { readFileBytes } from '../bindings/io/files.ts';
import { fail } from './errors.ts';
import { resolveModelFile, SHIPPED_MODELS } from './models.ts';
import { addCommonOptions, checkFolderCreatable, makeFolder, shown } from './options.ts';

export interface ExportFlags {
  model: string;
  format: 'diffusers';
  out: string;
  dtype: WeightDtype;
  scheduler: ExportScheduler;
  overwrite?: boolean;
}

export function exportCommand(): Command {
  const command = new Command('export')
    .description('write a U-Net model as a diffusers pipeline folder (DDPMPipeline.from_pretrained loads it)')
    .requiredOption('--model <file|name>', `a U-Net model file, or a shipped model: ${Object.keys(SHIPPED_MODELS).join(', ')}`)
    .addOption(new Option('--format <format>', 'the folder format').choices(['diffusers']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'the folder to write (created with its parents)')
    .addOption(new Option('--dtype <type>', 'storage type of the weights').choices(WEIGHT_DTYPES).default('float32'))
    .addOption(new Option('--scheduler <name>', 'ddpm: a DDPMPipeline with DDPMScheduler; ddim: a DDIMPipeline with DDIMScheduler').choices(['ddpm', 'ddim']).default('ddpm'))
    .option('--overwrite', 'replace DIR if it exists (the old folder stays until the new one is complete)')
    .addHelpText('after', `
Examples:
  ddpm export --model mnist --format diffusers --out mnist-diffusers
  ddpm export --model runs/digits/model.safetensors --format diffusers --out digits --scheduler ddim

Then, in Python: DDPMPipeline.from_pretrained('mnist-diffusers') (diffusers), or back here:
  ddpm sample --model mnist-diffusers --out samples.png`);
  return addCommonOptions(command).action(async (flags: ExportFlags) => {
    await exportModel(flags);
  });
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
