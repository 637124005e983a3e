/**
 * The parts of ddpm-wasm that need Node (or Deno/Bun): the MNIST digits shipped by the `mnist` package, image
 * folders read with sharp, atomic file writes, .npy files written as their data arrives (NpyFileWriter), and
 * diffusers pipeline folders on disk (written atomically: a failed export leaves no folder). Import them from
 * 'ddpm-wasm/node'; the main entry point stays free of Node modules so that it loads in browsers.
 */
export { mnistDataset, coloredMnistDataset, coloredMnistAttributesDataset, PALETTE, type MnistOptions } from './data/mnist.ts';
export { imageFolderDataset } from './data/folder.ts';
export { writeFileAtomic, readFileBytes } from './io/files.ts';
export { NpyFileWriter } from './io/npy-file.ts';
export { readDiffusersModel, writeDiffusersModel, readDiffusersFolderFiles, writeFolderAtomic } from './interop/diffusers-folder-files.ts';
