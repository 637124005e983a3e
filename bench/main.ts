/**
 * The benchmark behind `npm run bench` and `ddpm bench [--quick]`: every kernel family against the SIMD128 peak
 * measured in the same run; TensorFlow.js-wasm (interleaved) and PyTorch where they are installed, each column
 * headed with what was measured; the whole training step on one and two cores; the inference kernels at the
 * shipped U-Nets' shapes; the sampler's forward pass against onnxruntime-web (where installed); sampling;
 * memory. Prints one Markdown report to stdout (progress goes to stderr). Compiled into
 * dist/bench/ and shipped, so `ddpm bench` runs from the installed package.
 *
 *   node --import tsx bench/main.ts [--quick] [--out FILE] [--save]
 *   node dist/bench/main.js [--quick] [--out FILE]      (what `ddpm bench` runs, in a process of its own)
 *
 * --save (`npm run bench`) writes the report beside this file: bench/results.md, or results-quick.md with --quick.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { init } from '../bindings/core/instance.ts';
import { benchAttention } from './attention.ts';
import { benchConv2d } from './conv2d.ts';
import { benchGroupNorm } from './groupnorm.ts';
import { benchMatmul } from './matmul.ts';
import { machineInfo, roughPeak } from './measure.ts';
import { probeForms } from './timing.ts';
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
 * to `out` when given, and returns it.
 */
export async function runBenchmark({ quick, out }: { quick: boolean; out?: string }): Promise<string> {
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
      '(`process.cpuUsage()`; on a shared machine wall-clock time ' +
      'also counts the slices other processes ran in), except where a row says wall clock. Every number was measured ' +
      `in this run, on this machine. ${ctx.tf || ctx.torch ? 'Speed-ups are their time / ours (above 1× we are faster). ' : ''}` +
      `The run took ${seconds.toFixed(0)} s of wall-clock time.`,
    '',
    markdownTable(rows, columns(ctx)),
    '',
    ...sections.flatMap((section) => [section, '']),
    'Notes:',
    '',
    ...ctx.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
  if (out) {
    try {
      writeFileSync(out, report);
    } catch (error) {
      log(`could not write ${out}: ${(error as Error).message}`);
    }
  }
  process.stdout.write(report);
  return report;
}

/** The comparison columns' headings: what was measured, in this run; none for what is not installed. */
function columns(ctx: Context): { tf?: string; torch?: string } {
  return {
    ...(ctx.tf && { tf: `TF.js ${ctx.tf.version.tfjs} wasm (this run)` }),
    ...(ctx.torch && { torch: `PyTorch ${ctx.torch.version}, ${ctx.torch.threads} thread (this run)` }),
  };
}

async function makeContext(quick: boolean, log: (message: string) => void): Promise<Context> {
  const notes: string[] = [];
  log('PyTorch reference (a separate process)');
  const { torch, reason: torchMissing } = runTorchReference(quick);
  notes.push(torch
    ? `PyTorch ${torch.version}, ${torch.threads} thread, CPU capability ${torch.capability}, ${torch.blas}; its matmul ran ` +
      `through ${torch.blasLibraries.join(', ') || 'an unknown BLAS library'}` +
      (torch.referenceBlas ? ' (the reference BLAS, netlib: no blocking for caches or SIMD, so its matmul and attention are ' +
        'several times slower than PyTorch with OpenBLAS or MKL; the cells say so)' : '') + '.'
    : `No PyTorch column: ${torchMissing}.`);
  const { tf, reason: tfMissing } = await loadTfWasm();
  notes.push(tf ? `TF.js ${tf.version.tfjs}, backend ${tf.getBackend()} (XNNPACK, one thread under Node), NHWC layout (its own).`
    : `No TF.js column: ${tfMissing}.`);
  const peakPerMs = roughPeak();
  const forms = probeForms();
  log(`rough SIMD128 peak ${(peakPerMs / 1e6).toFixed(1)} GFLOP/s (the probe's ${forms.chosen} form)`);
  notes.push(`The SIMD128 peak: 12 independent chains of f32x4.mul + f32x4.add (assembly/peak.ts), in the form this ` +
    `engine ran faster: ${forms.chosen} (first estimates: constant multiplier ${forms.gflops.constant.toFixed(1)} GFLOP/s, ` +
    `computed multiplier ${forms.gflops.variable.toFixed(1)}).`);
  return { quick, rounds: quick ? 2 : 5, peakPerMs, tf, torch, notes, log };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href || fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, save: { type: 'boolean' } } });
  const quick = values.quick ?? false;
  const saved = values.save ? fileURLToPath(new URL(quick ? 'results-quick.md' : 'results.md', import.meta.url)) : undefined;
  await runBenchmark({ quick, out: values.out ?? saved });
}
