/**
 * The benchmark's rows and how they print: one Markdown table (pasteable into the README), then the notes.
 *
 * Speed-ups are written the same way everywhere: "their time / ours", so above 1× this library is faster
 * and 0.5× means it takes twice as long. Absolute times on this shared machine drift with the load; the ratios
 * in one row were measured interleaved in the same run, so they are the numbers to trust.
 */
import type { TorchTimes } from './torch.ts';
import type { TfModule } from './tfjs.ts';

/** One line of the table; absent cells print as a dash. */
export interface Row {
  op: string;
  shape: string;
  /** Our median time per call. */
  ms?: number;
  /** Our rate, from the analytic flop count. */
  gflops?: number;
  /** Our rate as a share of the SIMD128 probe measured alongside. */
  peakPct?: number;
  /** TF.js-wasm's time / ours (measured interleaved with ours), or why there is no number. */
  tf?: number | string;
  /** PyTorch's time / ours (a separate process in the same run), or why there is no number. */
  torch?: number | string;
  /** The scalar twin's time / the SIMD kernel's. */
  simd?: number | string;
  /** What the issue asks of this row, and whether this run met it. */
  target?: string;
  met?: boolean;
}

/** What every benchmark family receives. */
export interface Context {
  quick: boolean;
  /** Rounds every group of cases is measured in. */
  rounds: number;
  /** A rough SIMD128 peak in flops per ms, to size each row's own probe. */
  peakPerMs: number;
  /** TensorFlow.js with its wasm backend, or null when it could not be loaded. */
  tf: TfModule | null;
  /** PyTorch's times from bench/torch_reference.py, or null when PyTorch is not installed. */
  torch: TorchTimes | null;
  /** Footnotes collected along the way. */
  notes: string[];
  /** Progress messages (to stderr, so that stdout is the table alone). */
  log: (message: string) => void;
}

/**
 * A Markdown table of the rows. The TF.js and PyTorch columns appear only when they were measured in this run,
 * headed with what was measured (`tf`, `torch`: e.g. 'TF.js 4.22.0 wasm'); nothing is quoted from elsewhere.
 */
export function markdownTable(rows: Row[], { tf, torch }: { tf?: string; torch?: string } = {}): string {
  const header = ['op', 'shape', 'ms (median)', 'GFLOP/s', '% of SIMD128 peak', ...(tf ? [`vs ${tf}`] : []),
    ...(torch ? [`vs ${torch}`] : []), 'SIMD vs scalar twin', 'target', 'met'];
  const lines = [header, header.map(() => '---')];
  for (const r of rows) {
    lines.push([r.op, r.shape, fixed(r.ms, r.ms !== undefined && r.ms < 10 ? 2 : 1), fixed(r.gflops, 1),
      r.peakPct === undefined ? '-' : `${r.peakPct.toFixed(0)}%`, ...(tf ? [ratio(r.tf)] : []), ...(torch ? [ratio(r.torch)] : []),
      ratio(r.simd), r.target ?? '-', r.met === undefined ? '-' : r.met ? 'yes' : '**no**']);
  }
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function ratio(value: number | string | undefined): string {
  if (value === undefined) return '-';
  return typeof value === 'string' ? value : ratioText(value);
}

/** A speed-up as the table writes it: 13×, 1.4×, 0.33×. */
export function ratioText(value: number): string {
  return `${value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2)}×`;
}

/** GFLOP/s of `flops` done in `ms`. */
export function gflops(flops: number, ms: number): number {
  return flops / ms / 1e6;
}
