/**
 * diffusers folders on disk, for Node-like runtimes (Node, Deno, Bun); the format itself is diffusers-folder.ts.
 * Writing is atomic for the folder as a whole: every file goes into a temporary sibling folder, flushed, which is
 * renamed to the target at the end, so a failed or interrupted export leaves no partial folder (and, with
 * `overwrite`, the previous folder stays in place until the new one is complete). Not imported by the
 * browser-facing modules.
 */
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { UNet2DModel } from '../models/unet2d.ts';
import {
  diffusersFolderToModel, modelToDiffusersFolder, weightsFileName, type ExportOptions, type ImportedModel,
} from './diffusers-folder.ts';
import { readFileBytes } from '../io/files.ts';

let temporaries = 0;

/**
 * The files of a diffusers folder that reading it needs, path -> bytes: model_index.json and every .json of the
 * folder, unet/ and scheduler/, and the one weights file of `variant`. The other files of those folders are
 * listed with empty contents (so that errors can name them: another variant, a .bin) and not read.
 */
export async function readDiffusersFolderFiles(dir: string, options: { variant?: string } = {}): Promise<Map<string, Uint8Array>> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`cannot read the diffusers folder ${dir}: ${info ? 'it is a file' : 'no such folder'}`);
  const weights = weightsFileName(options.variant);
  const files = new Map<string, Uint8Array>();
  for (const sub of ['', 'unet', 'scheduler']) {
    const entries = await readdir(join(dir, sub), { withFileTypes: true }).catch(() => []);
    for (const entry of entries.filter((e) => e.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
      const wanted = entry.name.endsWith('.json') || entry.name === weights;
      files.set(path, wanted ? await readFileBytes(join(dir, path)) : new Uint8Array(0));
    }
  }
  return files;
}

/**
 * Writes `files` (relative path -> bytes) as the folder `dir`, atomically (see the file comment). An existing
 * `dir` is an error unless `overwrite`. The parent folder must exist.
 */
export async function writeFolderAtomic(dir: string, files: ReadonlyMap<string, Uint8Array>, options: { overwrite?: boolean } = {}): Promise<void> {
  const parent = dirname(dir), name = basename(dir);
  const parentInfo = await stat(parent).catch(() => null);
  if (!parentInfo?.isDirectory()) throw new Error(`cannot write ${dir}: the folder ${parent} does not exist`);
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`cannot write the folder ${dir}: a file of that name exists`);
  if (existing && !options.overwrite) throw new Error(`cannot write the folder ${dir}: it already exists (choose another, or overwrite it)`);
  const temporary = join(parent, `.${name}.${process.pid}.${temporaries++}.tmp`);
  try {
    for (const [path, bytes] of files) {
      const parts = path.split('/');
      if (path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
        throw new Error(`cannot write ${dir}: '${path}' is not a plain relative path`);
      }
      await mkdir(join(temporary, ...parts.slice(0, -1)), { recursive: true });
      const handle = await open(join(temporary, ...parts), 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await mkdir(temporary, { recursive: true });
    if (existing) await replaceFolder(dir, temporary);
    else await rename(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Reads the folder `dir` into this library's UNet2DModel and scheduler (see diffusersFolderToModel). */
export async function readDiffusersModel(dir: string, options: { variant?: string } = {}): Promise<ImportedModel> {
  return diffusersFolderToModel(await readDiffusersFolderFiles(dir, options), { ...options, source: dir });
}

/** Writes `model` as the diffusers pipeline folder `dir`, atomically (see modelToDiffusersFolder). */
export async function writeDiffusersModel(dir: string, model: UNet2DModel, options: ExportOptions & { overwrite?: boolean } = {}): Promise<void> {
  await writeFolderAtomic(dir, modelToDiffusersFolder(model, options), options);
}

/** Swaps the complete new folder in: the old one moves aside first and comes back if the swap fails. */
async function replaceFolder(dir: string, replacement: string): Promise<void> {
  const aside = join(dirname(dir), `.${basename(dir)}.${process.pid}.${temporaries++}.old`);
  await rename(dir, aside);
  try {
    await rename(replacement, dir);
  } catch (error) {
    await rename(aside, dir);
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}
