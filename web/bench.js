/**
 * The benchmark-and-verify page: the self-test runs as soon as the page opens, the kernels when asked (both in
 * bench-worker.js); the report can be copied as text.
 *
 * Query: ?quick=1 ticks "quick"; ?run=1 starts the benchmark once the self-test is done; ?report=<path> POSTs the
 * final { verify, bench } JSON to that path of this server (`npm run bench:engines` collects the runs that way).
 *
 * Hook for tests and the console: `window.ddpmBench`
 *   verified   a promise of the self-test's report
 *   run()      runs the benchmark (quick when the box is ticked); resolves with its report
 *   text()     the report as the copy button copies it
 * and `document.body.dataset.verify` ('loading', 'running', 'passed', 'failed', 'error'), `.bench` ('idle',
 * 'running', 'done', 'error').
 */
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const worker = new Worker(new URL('./bench-worker.js', import.meta.url), { type: 'module' });
const state = { verify: null, bench: null, benchText: '', waiting: null };

function settle(kind, value) {
  const waiting = state.waiting?.[kind];
  if (waiting) waiting(value);
}

const verified = new Promise((resolve, reject) => {
  state.waiting = { verified: resolve, verifyFailed: reject };
});
verified.catch(() => {});

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case 'scenario': return showProgress(data);
    case 'verified': return showVerified(data.report);
    case 'kernel': return showKernel(data);
    case 'benched': return showBenched(data.report, data.text);
    case 'error': return showError(data);
  }
};
worker.onerror = (event) => {
  event.preventDefault();
  showError({ stage: 'library', message: `the worker failed: ${event.message || 'it could not start (is web/bench-worker.js served?)'}` });
};

function showProgress({ result, done, total }) {
  document.body.dataset.verify = 'running';
  $('verify-verdict').textContent = `self-test: ${done} of ${total} scenarios…`;
  if (result.status === 'failed') addFailure(result);
}

function addFailure(result) {
  const item = document.createElement('li');
  const code = document.createElement('code');
  code.textContent = result.problems.join('\n');
  item.append(`${result.name}: `, code);
  $('verify-failures').append(item);
}

function showVerified(report) {
  state.verify = report;
  document.body.dataset.verify = report.ok ? 'passed' : 'failed';
  const verdict = $('verify-verdict');
  verdict.dataset.kind = report.ok ? 'passed' : 'failed';
  verdict.textContent = verifySummary(report);
  $('run').disabled = false;
  updateReport();
  settle('verified', report);
  if (params.get('run') === '1') run().catch(() => {});
  else if (params.get('report')) post();
}

function verifySummary(report) {
  const s = (report.ms / 1000).toFixed(1);
  return report.ok
    ? `✓ ${report.passed} of ${report.total} scenarios bit-identical to the golden outputs (${s} s)`
    : `✗ ${report.failed} of ${report.total} scenarios differ from the golden outputs (${s} s): this engine computes other bits`;
}

/** Runs the benchmark; resolves with its report. */
function run() {
  if (document.body.dataset.bench === 'running') return state.running;
  document.body.dataset.bench = 'running';
  $('run').disabled = true;
  $('quick').disabled = true;
  $('kernels').tBodies[0].replaceChildren();
  $('peak').textContent = '';
  state.running = new Promise((resolve, reject) => {
    state.waiting.benched = resolve;
    state.waiting.benchFailed = reject;
  });
  worker.postMessage({ type: 'bench', quick: $('quick').checked });
  return state.running;
}

function showKernel({ op, done, total }) {
  $('bench-status').textContent = `${done + 1} of ${total}: ${op}…`;
}

function showBenched(report, text) {
  state.bench = report;
  state.benchText = text;
  document.body.dataset.bench = 'done';
  $('run').disabled = false;
  $('quick').disabled = false;
  $('bench-status').textContent = `done in ${(report.ms / 1000).toFixed(1)} s`;
  $('kernels').tBodies[0].replaceChildren(...report.rows.map(kernelRow));
  $('peak').textContent = `This engine's SIMD128 peak: ${report.peakGflops.toFixed(1)} GFLOP/s (the median of the probes measured ` +
    'beside each kernel; % of peak compares each kernel with the probe of its own rounds).';
  updateReport();
  settle('benched', report);
  if (params.get('report')) post();
}

function kernelRow(row) {
  const tr = document.createElement('tr');
  const cells = [row.op, row.shape, row.ms.toFixed(row.ms < 10 ? 2 : 1), row.gflops.toFixed(1), row.peakGflops.toFixed(1), `${row.pct.toFixed(0)}%`];
  tr.replaceChildren(...cells.map((text) => Object.assign(document.createElement('td'), { textContent: text })));
  const pct = tr.lastChild;
  pct.className = 'bar-cell';
  pct.style.setProperty('--fill', `${Math.min(100, row.pct)}%`);
  pct.replaceChildren(Object.assign(document.createElement('span'), { textContent: pct.textContent }));
  return tr;
}

function showError({ stage, message }) {
  if (stage === 'bench') {
    document.body.dataset.bench = 'error';
    $('bench-status').textContent = `the benchmark failed: ${message}`;
    $('run').disabled = false;
    $('quick').disabled = false;
    state.waiting.benchFailed?.(new Error(message));
  } else {
    document.body.dataset.verify = 'error';
    const verdict = $('verify-verdict');
    verdict.dataset.kind = 'error';
    verdict.textContent = message;
    state.waiting.verifyFailed?.(new Error(message));
  }
  if (params.get('report')) post({ error: `${stage}: ${message}` });
}

/** The report as text: the engine, the self-test's verdict (and what differs), the kernel table. */
function text() {
  const lines = ['ddpm-wasm: benchmark and verify', `Engine: ${state.verify?.engine ?? navigator.userAgent}`, ''];
  if (state.verify) {
    lines.push(`Determinism: ${verifySummary(state.verify)}`);
    for (const s of state.verify.scenarios.filter((r) => r.status === 'failed')) lines.push(`  ${s.name}: ${s.problems.join('; ')}`);
  }
  if (state.benchText) lines.push('', state.benchText);
  lines.push('', `${location.origin}${location.pathname}, ${new Date().toISOString()}`);
  return lines.join('\n');
}

function updateReport() {
  $('report').textContent = text();
  $('copy').disabled = false;
}

async function copy() {
  const report = text();
  try {
    await navigator.clipboard.writeText(report);
  } catch {
    // No clipboard API (an insecure context, or permission refused): copy the selected text the old way.
    const range = document.createRange();
    range.selectNodeContents($('report'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    if (!document.execCommand('copy')) {
      $('copied').textContent = 'select the report and copy it yourself';
      return;
    }
  }
  $('copied').textContent = 'copied';
}

function post(extra = {}) {
  const path = params.get('report');
  if (!path?.startsWith('/')) return;
  fetch(path, { method: 'POST', body: JSON.stringify({ verify: state.verify, bench: state.bench, ...extra }) }).catch(() => {});
}

$('run').addEventListener('click', () => run().catch(() => {}));
$('copy').addEventListener('click', () => copy());
$('quick').checked = params.get('quick') === '1';
if (!isSecureContext) {
  $('verify-verdict').textContent = 'this page is not a secure context (https or localhost): the self-test needs crypto.subtle';
}

window.ddpmBench = { verified, run, text };
document.body.dataset.verify = 'running';
worker.postMessage({ type: 'verify' });
