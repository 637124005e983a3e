/**
 * PyTorch's times on the benchmark's shapes, from bench/torch_reference.py run by Debian's /usr/bin/python3
 * (python3-torch), one thread. Optional: without PyTorch the PyTorch column quotes the project's notes instead.
 * It runs as a separate process in the same benchmark run, so its ratios are less tightly paired than the
 * TF.js ones (measured interleaved with ours), but they share the run's machine and load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TorchTimes {
  version: string;
  threads: number;
  /** ATen's CPU capability (AVX2 or AVX512) and which BLAS matmul goes through ('generic' = the reference BLAS). */
  capability: string;
  blas: string;
  /** Median ms per case: matmul256, matmul512, convForward, convBackwardInput, convBackwardWeight, conv1x1, convStride2, groupNorm, attention. */
  ms: Record<string, number>;
}

const PYTHON = '/usr/bin/python3';

/** Runs the PyTorch reference; null (with the reason) when PyTorch is absent or fails. */
export function runTorchReference(quick: boolean): { torch: TorchTimes | null; reason?: string } {
  if (!existsSync(PYTHON)) return { torch: null, reason: `${PYTHON} not found` };
  const script = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
  const threads = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const result = spawnSync(PYTHON, [script, ...(quick ? ['--quick'] : [])], {
    env: { ...process.env, ...threads }, encoding: 'utf8', timeout: 300_000,
  });
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || 'no output').trim().split('\n').pop();
    return { torch: null, reason: why?.includes('No module named') ? 'python3-torch is not installed' : why };
  }
  try {
    return { torch: JSON.parse(result.stdout) as TorchTimes };
  } catch {
    return { torch: null, reason: 'bench/torch_reference.py printed no JSON' };
  }
}

/** PyTorch's time / ours for `name`, or undefined when PyTorch did not run that case. */
export function torchRatio(torch: TorchTimes | null, name: string, oursMs: number): number | undefined {
  const theirs = torch?.ms[name];
  return theirs === undefined ? undefined : theirs / oursMs;
}
