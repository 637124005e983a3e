/**
 * The sampler-quality table of the few-step work (issue 14): for the shipped digit models, how often the judge
 * (a classifier trained only on real digits, evaluation/) reads the class asked for, per sampler and number of
 * model evaluations (NFE), at guidance 1 and 3, with each configuration's digits per second on one core; and the
 * distilled students at their own step counts. Prints Markdown, and writes it to docs/sampler-quality.md.
 *
 *   node --import tsx scripts/sampler-quality.ts [--per-class K] [--nfe 1,2,4,8,10,20,50] [--models mnist,colored-mnist]
 *     [--samplers ddim,dpmsolver++,unipc,euler] [--students runs/mnist-4step,runs/colored-mnist-4step] [--out FILE]
 *
 * NFE is the number of forward passes of the network per image: the steps for every sampler here (guidance's
 * doubled batch is one pass of twice the images, and the digits/s say what it costs). Colored digits count as
 * right when both the digit and the colour are. The judge is trained once and cached in runs/eval-classifier.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init, SAMPLER_INFO, type SamplerName } from '../bindings/index.ts';
import { evaluateModel, loadOrTrainDigitClassifier, readDigitModel, type Evaluation } from '../evaluation/index.ts';

const { values } = parseArgs({
  options: {
    'per-class': { type: 'string' }, nfe: { type: 'string' }, models: { type: 'string' }, samplers: { type: 'string' },
    students: { type: 'string' }, out: { type: 'string' },
  },
});
const list = (value: string | undefined, fallback: string) => (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const perClass = Number(values['per-class'] ?? 20);
const nfes = list(values.nfe, '1,2,4,8,10,20,50').map(Number);
const models = list(values.models, 'mnist,colored-mnist');
const samplers = list(values.samplers, 'ddim,dpmsolver++,unipc,euler') as SamplerName[];
const students = list(values.students, 'runs/mnist-4step,runs/colored-mnist-4step');
const out = values.out ?? 'docs/sampler-quality.md';
for (const s of samplers) if (!(s in SAMPLER_INFO)) throw new Error(`--samplers: unknown sampler '${s}'`);

await init();
const log = (line: string) => process.stderr.write(`${line}\n`);
const { classifier } = await loadOrTrainDigitClassifier('runs/eval-classifier', { onStep: (r) => { if (r.step % 100 === 0) log(`judge: step ${r.step}/${r.steps}`); } });

/** The fraction read right: the digit (mnist) or the digit and the colour (colored-mnist). */
const accuracy = (e: Evaluation) => (e.data === 'mnist' ? e.digits.accuracy : e.both.accuracy);
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** One evaluation: the accuracy and the digits per second (CPU time of this one-core process). */
async function measure(path: string, options: { sampler?: SamplerName; karras?: boolean; steps?: number; guidance?: number }): Promise<string> {
  const { model, metadata } = await readDigitModel(path);
  try {
    const start = cpuSeconds();
    const e = await evaluateModel(model, metadata, classifier, { perClass, ...options });
    const rate = e.samples / (cpuSeconds() - start);
    return `${percent(accuracy(e))} (${rate.toFixed(1)}/s)`;
  } finally {
    model.params.values.dispose();
    model.params.grads.dispose();
  }
}

const sections: string[] = [
  `# Sampler quality on the shipped digit models`,
  '',
  `The judge's reading of the class asked for (colored digits: digit and colour both right), ${perClass} samples per class, seed 0, ` +
  `and in brackets digits per second on one core (CPU time, generating and judging; machine shared, indicative). ` +
  `NFE: network evaluations per image. Made by \`node --import tsx scripts/sampler-quality.ts --per-class ${perClass}\`.`,
];
for (const name of models) {
  const path = `models/${name}.safetensors`;
  for (const guidance of [1, 3]) {
    log(`${name}, guidance ${guidance}`);
    const header = `| sampler | ${nfes.map((n) => `NFE ${n}`).join(' | ')} |`;
    const rows = [header, `| --- | ${nfes.map(() => '---').join(' | ')} |`];
    for (const sampler of samplers) {
      const karras = SAMPLER_INFO[sampler].karras && sampler === 'dpmsolver++';
      const cells: string[] = [];
      for (const nfe of nfes) {
        if (nfe < SAMPLER_INFO[sampler].order) { cells.push('-'); continue; }
        log(`  ${sampler}${karras ? ' Karras' : ''} ${nfe}`);
        cells.push(await measure(path, { sampler, karras, steps: nfe, guidance }));
      }
      rows.push(`| ${sampler}${karras ? ' (2M, Karras)' : ''} | ${cells.join(' | ')} |`);
    }
    sections.push('', `## ${name}, guidance ${guidance}`, '', ...rows);
  }
}
const studentRows = ['| distilled student | file | NFE | accuracy (digits/s) |', '| --- | --- | --- | --- |'];
for (const folder of students) {
  if (!existsSync(folder)) continue;
  for (const file of readdirSync(folder).filter((f) => /^round-\d+step\.safetensors$/.test(f)).sort((a, b) => parseInt(b.slice(6)) - parseInt(a.slice(6)))) {
    const path = join(folder, file);
    const { metadata } = await readDigitModel(path);
    log(`student ${path}`);
    studentRows.push(`| ${metadata.data.name}, guidance ${metadata.sampling!.distilledFrom.guidanceScale} distilled from ${metadata.sampling!.distilledFrom.steps} steps | ${path} | ${metadata.sampling!.steps} | ${await measure(path, {})} |`);
  }
}
if (studentRows.length > 2) sections.push('', '## Distilled students (progressive distillation, guidance in the weights)', '', ...studentRows);
const markdown = `${sections.join('\n')}\n`;
writeFileSync(out, markdown);
process.stdout.write(markdown);
