// The files dist/ needs that tsc does not emit (it emits .ts and copies the .json it imports):
// - the self-test's plain JavaScript (bindings/verify/: the scenarios, the runner, the comparison), which
//   browsers and the cross-runtime harness also load as it is, so it stays JavaScript (typed by its .d.ts files);
// - the PyTorch reference `ddpm bench` runs when PyTorch is installed, bench/torch_reference.py.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const at = (path) => new URL(`../${path}`, import.meta.url);
const javascript = (folder) => readdirSync(at(folder)).filter((name) => name.endsWith('.js')).map((name) => `${folder}/${name}`);
const ASSETS = [...javascript('bindings/verify'), ...javascript('bindings/verify/scenarios'), 'bench/torch_reference.py'];

for (const asset of ASSETS) {
  mkdirSync(new URL('.', at(`dist/${asset}`)), { recursive: true });
  copyFileSync(at(asset), at(`dist/${asset}`));
}
