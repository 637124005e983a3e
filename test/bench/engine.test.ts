// The portable engine benchmark (bench/engine.ts) that the page and bench:engines run: one kernel timed beside the
// probe, its % of peak computed from the two, both probe forms measured and the faster one kept, the report's text.
// A benchmark measures; nothing here asserts a speed beyond "positive and finite".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../../bindings/index.ts';
import { benchEngine, formatEngineReport, QUICK_KERNELS } from '../../bench/engine.ts';
import { KERNELS } from '../../bench/kernels.ts';

await init();

test('one kernel: GFLOP/s from its flop count, % of the probe measured beside it, the faster probe form kept', async () => {
  const seen: string[] = [];
  const report = await benchEngine({ quick: true, kernels: ['matmul256'], onProgress: (k, done, total) => seen.push(`${k.id} ${done}/${total}`) });
  assert.equal(seen, ['matmul256 0/1']);
  assert.match(report.engine, /^Node /);
  assert.is(report.rows.length, 1);
  const [row] = report.rows;
  const flops = KERNELS.find((k) => k.id === 'matmul256')!.flops;
  assert.ok(row.ms > 0 && Number.isFinite(row.ms));
  assert.ok(Math.abs(row.gflops - flops / row.ms / 1e6) < 1e-9 * row.gflops);
  assert.ok(Math.abs(row.pct - (100 * row.gflops) / row.peakGflops) < 1e-9 * row.pct);
  assert.is(report.peakGflops, row.peakGflops, 'the median of one probe');
  const { chosen, gflops } = report.probe;
  assert.ok(gflops.constant > 0 && gflops.variable > 0);
  assert.is(chosen, gflops.variable > gflops.constant ? 'variable' : 'constant');
  const text = formatEngineReport(report);
  assert.match(text, `${chosen} form; first estimates: constant ${gflops.constant.toFixed(1)}, variable ${gflops.variable.toFixed(1)}`);
  assert.match(text, /\n\| matmul \| 256×256·256×256 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \|$/);
});

test('the quick set and the full set: kernels with a flop count only; an unknown or memory-bound one is refused', async () => {
  assert.equal(QUICK_KERNELS, ['matmul256', 'conv3x3', 'attention']);
  assert.ok(KERNELS.every((k) => k.flops > 0 || k.id === 'groupNorm'));
  try {
    await benchEngine({ quick: true, kernels: ['groupNorm'] });
    assert.unreachable('group norm has no flop count');
  } catch (error) {
    assert.match((error as Error).message, 'groupNorm has no flop count');
  }
  try {
    await benchEngine({ quick: true, kernels: ['nope'] });
    assert.unreachable('no such kernel');
  } catch (error) {
    assert.match((error as Error).message, "no kernel 'nope' (known: matmul256, matmul512, conv3x3");
  }
});

test.run();
