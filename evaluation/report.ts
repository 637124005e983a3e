/**
 * The evaluation's results as small Markdown tables: the judge's accuracy on real held-out digits next to its
 * verdict on generated ones, per class, with the training and sampling times.
 */
import { PALETTE } from '../bindings/node.ts';
import type { ColoredEvaluation, ColoredVerdict, DigitEvaluation, Evaluation } from './conditional.ts';
import type { ClassAccuracy } from './digit-classifier.ts';

/** What the report says about the judge. */
export interface JudgeSummary {
  /** Its accuracy on the real held-out digits (the 'test' split: 100 per digit). */
  heldOut: ClassAccuracy;
  /** For colored models: the same judges on the real held-out digits, tinted. */
  heldOutColored?: ColoredVerdict;
  /** Seconds its training took, and whether it was read from the cache rather than trained now. */
  trainingSeconds: number;
  cached: boolean;
}

/** What the report says about the model. */
export interface ModelSummary {
  /** How the model is named (its file). */
  name: string;
  trainingSteps: number;
  /** Seconds of training, when known. */
  trainingSeconds: number | null;
  /** Its parameter count. */
  parameters: number;
}

/** The whole report: a heading, the tables and a line of settings and times. */
export function formatReport(evaluation: Evaluation, judge: JudgeSummary, model: ModelSummary): string {
  const tables = evaluation.data === 'mnist' ? digitTables(evaluation, judge) : coloredTables(evaluation, judge);
  return [`### ${model.name}: ${evaluation.data === 'mnist' ? 'class-conditional digits' : 'digits conditioned on digit and color'}`, '', ...tables, notes(evaluation, judge, model)].join('\n');
}

function digitTables(e: DigitEvaluation, judge: JudgeSummary): string[] {
  const digits = Array.from({ length: 10 }, (_, d) => String(d));
  return [
    table(['', 'accuracy', 'digits'], [
      ['real held-out digits, labelled by the classifier', percent(judge.heldOut.accuracy), count(total(judge.heldOut))],
      ['generated digits, labelled as the digit asked for', percent(e.digits.accuracy), `${count(e.samples)} (${e.perClass} per digit)`],
    ]),
    '',
    table(['digit', ...digits], [
      ['real held-out', ...judge.heldOut.perClass.map(rate)],
      ['generated', ...e.digits.perClass.map(rate)],
    ]),
    '',
  ];
}

function coloredTables(e: ColoredEvaluation, judge: JudgeSummary): string[] {
  const K = PALETTE.length;
  const rows = [[
    'generated, asked for each (digit, color) pair', percent(e.digits.accuracy), percent(e.colors.accuracy), percent(e.both.accuracy),
    `${count(e.samples)} (${e.perClass} per pair)`,
  ]];
  const real = judge.heldOutColored;
  if (real) rows.unshift(['real held-out digits, tinted', percent(real.digits.accuracy), percent(real.colors.accuracy), percent(real.both.accuracy), count(total(real.both))]);
  const byColor = (a: ClassAccuracy) => PALETTE.map((_, c) => rate(sumOver(10, (d) => a.perClass[d * K + c])));
  const byDigit = (a: ClassAccuracy) => Array.from({ length: 10 }, (_, d) => rate(sumOver(K, (c) => a.perClass[d * K + c])));
  return [
    table(['', 'digit right', 'color right', 'both right', 'samples'], rows),
    '',
    table(['color asked', ...PALETTE.map((p) => p.name)], [
      ['digit right', ...byColor(e.digitsByLabel)], ['color right', ...byColor(e.colorsByLabel)], ['both right', ...byColor(e.both)],
    ]),
    '',
    table(['digit asked', ...Array.from({ length: 10 }, (_, d) => String(d))], [
      ['digit right', ...byDigit(e.digitsByLabel)], ['color right', ...byDigit(e.colorsByLabel)], ['both right', ...byDigit(e.both)],
    ]),
    '',
  ];
}

/** The sum of `n` per-class counts. */
function sumOver(n: number, item: (i: number) => { right: number; total: number }): { right: number; total: number } {
  const sum = { right: 0, total: 0 };
  for (let i = 0; i < n; i++) {
    const { right, total: t } = item(i);
    sum.right += right;
    sum.total += t;
  }
  return sum;
}

function notes(e: Evaluation, judge: JudgeSummary, model: ModelSummary): string {
  const trained = model.trainingSeconds === null ? 'training time unknown' : `trained in ${duration(model.trainingSeconds)}`;
  const perSample = e.samplingSeconds / e.samples;
  return [
    `Model: ${count(model.parameters)} parameters, ${count(model.trainingSteps)} training steps, ${trained}.`,
    `Sampling: ${e.sampler.toUpperCase()}, ${e.steps} steps, guidance ${e.guidance}, eta ${e.eta}, seed ${e.seed}: ${count(e.samples)} samples in ${duration(e.samplingSeconds)} ` +
      `(${perSample.toFixed(2)} s each).`,
    'Judge: a small CNN trained only on real digits (the training split; the held-out digits are 100 per digit), ' +
      `trained in ${duration(judge.trainingSeconds)}${judge.cached ? ' (read from its cache)' : ''}.`,
  ].join('\n');
}

/** A Markdown table: the first column left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function total(a: ClassAccuracy): number {
  return a.perClass.reduce((s, c) => s + c.total, 0);
}

function rate({ right, total: t }: { right: number; total: number }): string {
  return t === 0 ? '-' : percent(right / t, 0);
}

function percent(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds as '42 s', '3 min 5 s' or '1 h 2 min'; 'unknown' when not a number. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'an unknown time';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - 60 * minutes)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
