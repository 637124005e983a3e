/**
 * The benchmark behind `npm run bench` and `ddpm bench [--quick]`: every kernel family against the SIMD128 peak
 * measured in the same run, TensorFlow.js-wasm (interleaved) and PyTorch (when installed); the whole training
 * step on one and two cores; the inference kernels at the shipped U-Nets' shapes; the sampler's forward pass
 * against onnxruntime-web, with its per-op profile;
 * sampling; memory. Prints one Markdown report to stdout (progress goes to stderr) and writes it to
 * bench/results.md (bench/results-quick.md for --quick).
 *
 *   node --import tsx bench/main.ts [--quick]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { init } from '../bindings/core/instance.ts';
import { benchAttention } from './attention.ts';
import { benchConv2d } from './conv2d.ts';
import { benchGroupNorm } from './groupnorm.ts';
import { benchMatmul } from './matmul.ts';
import { machineInfo, roughPeak } from './measure.ts';
import { benchMemory } from './memory.ts';
import { markdownTable, type Context, type Row } from './report.ts';
import { benchInferenceKernels } from './inference-kernels.ts';
import { benchSamplerForward } from './sampler-forward.ts';
import { benchSampling } from './sampling.ts';
import { benchSamplingThreads } from './sampling-threads.ts';
import { loadTfWasm } from './tfjs.ts';
import { runTorchReference } from './torch.ts';
import { benchTraining } from './training.ts';

/**
 * Runs the benchmark (with `quick`, a subset in under a minute), prints its Markdown report to stdout, writes it
 * to bench/results.md (bench/results-quick.md for a quick run) and returns it.
 */
export async function runBenchmark({ quick }: { quick: boolean }): Promise<string> {
  const started = performance.now();
  await init();
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
  const machine = machineInfo();
  const ctx = await makeContext(quick, log);
  const rows: Row[] = [
    ...(await benchMatmul(ctx)),
    ...(await benchConv2d(ctx)),
    ...(await benchGroupNorm(ctx)),
    ...(await benchAttention(ctx)),
    ...(await benchTraining(ctx)),
  ];
  const sections = [await benchInferenceKernels(ctx), await benchSamplerForward(ctx), await benchSampling(ctx), await benchSamplingThreads(ctx), await benchMemory(ctx)].filter((section) => section !== '');
  const seconds = (performance.now() - started) / 1000;
  const report = [
    `## Benchmark${quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${machine}. One core unless a row says otherwise. Times are medians over interleaved rounds ` +
      `(${ctx.rounds} for the kernels, fewer for the training steps) of the CPU time of the benchmark process ` +
      '(`process.cpuUsage()`; on this shared machine wall-clock time ' +
      'also counts the slices other processes ran in), except where a row says wall clock. Speed-ups are their ' +
      `time / ours (above 1× we are faster). The run took ${seconds.toFixed(0)} s of wall-clock time.`,
    '',
    markdownTable(rows),
    '',
    ...sections.flatMap((section) => [section, '']),
    'Notes:',
    '',
    ...ctx.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
  const file = quick ? 'results-quick.md' : 'results.md';
  try {
    writeFileSync(new URL(file, import.meta.url), report);
  } catch (error) {
    log(`could not write bench/${file}: ${(error as Error).message}`);
  }
  process.stdout.write(report);
  return report;
}

async function makeContext(quick: boolean, log: (message: string) => void): Promise<Context> {
  const notes: string[] = [];
  log('PyTorch reference (a separate process)');
  const { torch, reason: torchMissing } = runTorchReference(quick);
  notes.push(torch
    ? `PyTorch ${torch.version}, ${torch.threads} thread, CPU capability ${torch.capability}, ${torch.blas}` +
      (torch.blas.endsWith('generic') ? ' (the reference BLAS: its plain matmul and attention are far below what an optimised BLAS gives)' : '') + '.'
    : `PyTorch column empty: ${torchMissing}.`);
  const { tf, reason: tfMissing } = await loadTfWasm();
  notes.push(tf ? `TF.js ${tf.version.tfjs}, backend ${tf.getBackend()} (XNNPACK, one thread under Node), NHWC layout (its own).`
    : `TF.js column empty: ${tfMissing}.`);
  const peakPerMs = roughPeak();
  log(`rough SIMD128 peak ${(peakPerMs / 1e6).toFixed(1)} GFLOP/s`);
  return { quick, rounds: quick ? 2 : 5, peakPerMs, tf, torch, notes, log };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href || fileURLToPath(import.meta.url) === process.argv[1]) {
  await runBenchmark({ quick: process.argv.includes('--quick') });
}
