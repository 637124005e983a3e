// The files dist/ needs that tsc does not emit (it copies .ts, .js and imported .json only): the PyTorch
// reference `ddpm bench` runs when PyTorch is installed, bench/torch_reference.py -> dist/bench/.
import { copyFileSync, mkdirSync } from 'node:fs';

const at = (path) => new URL(`../${path}`, import.meta.url);
const ASSETS = ['bench/torch_reference.py'];

for (const asset of ASSETS) {
  mkdirSync(new URL('.', at(`dist/${asset}`)), { recursive: true });
  copyFileSync(at(asset), at(`dist/${asset}`));
}
