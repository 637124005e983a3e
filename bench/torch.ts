/**
 * PyTorch's times on the benchmark's shapes, from torch_reference.py (beside this file; the build copies it into
 * dist/bench/) run by a Python with torch, one thread: $DDPM_BENCH_PYTHON, else Debian's /usr/bin/python3
 * (python3-torch), else python3 on the PATH. Optional: without PyTorch there is no PyTorch column. It runs as a
 * separate process in the same benchmark run, so its ratios are less tightly paired than the TF.js ones (measured
 * interleaved with ours), but they share the run's machine and load. Its matmul goes through whatever BLAS
 * library the process loads, which the report names: Debian's python3-torch with the system's default
 * alternative is the reference BLAS (netlib, no blocking for caches or SIMD), several times slower than OpenBLAS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ratioText } from './report.ts';

export interface TorchTimes {
  version: string;
  threads: number;
  /** ATen's CPU capability (AVX2 or AVX512) and the BLAS interface it was built against ('BLAS_INFO=generic' for Debian's). */
  capability: string;
  blas: string;
  /** The BLAS libraries the process loaded (Linux), e.g. /usr/lib/x86_64-linux-gnu/blas/libblas.so.3. */
  blasLibraries: string[];
  /** Whether its matmul went through a reference BLAS (Debian's netlib build). */
  referenceBlas: boolean;
  /** Median ms per case: matmul256, matmul512, convForward, convBackwardInput, convBackwardWeight, conv1x1, convStride2, groupNorm, attention. */
  ms: Record<string, number>;
}

/** The Python to ask: $DDPM_BENCH_PYTHON, Debian's, or the PATH's. */
function python(): string {
  return process.env.DDPM_BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Runs the PyTorch reference; null (with the reason) when PyTorch is absent or fails. */
export function runTorchReference(quick: boolean): { torch: TorchTimes | null; reason?: string } {
  const PYTHON = python();
  const script = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
  if (!existsSync(script)) return { torch: null, reason: `${script} is missing (npm run build copies it there)` };
  const threads = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const result = spawnSync(PYTHON, [script, ...(quick ? ['--quick'] : [])], {
    env: { ...process.env, ...threads }, encoding: 'utf8', timeout: 300_000,
  });
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || 'no output').trim().split('\n').pop();
    return { torch: null, reason: why?.includes('No module named') ? `${PYTHON} has no torch module` : `${PYTHON}: ${why}` };
  }
  try {
    const torch = JSON.parse(result.stdout) as Omit<TorchTimes, 'referenceBlas'>;
    return { torch: { ...torch, referenceBlas: torch.blasLibraries.some((path) => /\/blas\/libblas\.so/.test(path)) } };
  } catch {
    return { torch: null, reason: 'bench/torch_reference.py printed no JSON' };
  }
}

/**
 * PyTorch's time / ours for a case whose PyTorch version multiplies through the BLAS (matmul, attention): the
 * ratio, marked when that BLAS is the reference one, so that nobody reads it as PyTorch's speed with OpenBLAS.
 */
export function torchBlasCell(torch: TorchTimes | null, name: string, oursMs: number): number | string | undefined {
  const value = torchRatio(torch, name, oursMs);
  return value !== undefined && torch?.referenceBlas ? `${ratioText(value)} (reference BLAS)` : value;
}

/** PyTorch's time / ours for `name`, or undefined when PyTorch did not run that case. */
export function torchRatio(torch: TorchTimes | null, name: string, oursMs: number): number | undefined {
  const theirs = torch?.ms[name];
  return theirs === undefined ? undefined : theirs / oursMs;
}
