/**
 * The training page: starts, pauses and resumes the worker (train-worker.js) and draws what it posts: the loss
 * curve as every step arrives, and the samples over the data whenever new ones come.
 *
 * Query: ?steps=N&seed=S set the fields; ?sampleEvery=K draws samples every K steps (default 250); ?train=1 starts.
 *
 * Hook for tests and the console: `window.ddpmTrain`
 *   start()     trains with the fields' settings (a fresh run)
 *   pause(), resume()
 *   weights()   a promise of { step, params, ema, options }: the SHA-256 of the parameters and of their EMA
 * and `document.body.dataset.state` ('idle', 'training', 'paused', 'done', 'error'), `.step` (the last step drawn).
 */
import { GAUSSIAN8 } from './recipe.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
/** The view of the data plane: [-R, R]² (bindings/data/toys.ts: modes of std 0.354 on a circle of radius 2√2). */
const R = 4.5;
const RING = 2 * Math.SQRT2, MODE_STD = 0.354;
const session = { worker: null, losses: [], samples: null, started: 0, timer: null, pendingWeights: null };

function setState(state) {
  document.body.dataset.state = state;
  $('train').textContent = state === 'training' || state === 'paused' ? 'Restart' : 'Train';
  $('pause').disabled = state !== 'training' && state !== 'paused';
  $('pause').textContent = state === 'paused' ? 'Resume' : 'Pause';
}

function start() {
  const steps = integer('steps', 1, 100000), seed = integer('seed', 0, 2 ** 32 - 1);
  if (steps === null || seed === null) return;
  session.worker?.terminate();
  session.worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  session.worker.onmessage = ({ data }) => onMessage(data);
  session.worker.onerror = (event) => {
    event.preventDefault();
    fail(`the training worker failed: ${event.message || 'it could not start'}`);
  };
  Object.assign(session, { losses: [], samples: null, steps, started: performance.now() });
  clearInterval(session.timer);
  session.timer = setInterval(tick, 200);
  document.body.dataset.step = '0';
  setState('training');
  say(`training ${steps} steps, seed ${seed}…`);
  drawCurve();
  drawScatter();
  session.worker.postMessage({ type: 'start', steps, seed, sampleEvery: Number(params.get('sampleEvery') ?? 250) });
}

function integer(id, min, max) {
  const value = Number($(id).value);
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  say(`${id}: expected an integer from ${min} to ${max}, got '${$(id).value}'`, true);
  return null;
}

function onMessage(message) {
  switch (message.type) {
    case 'started': return say(`training ${session.steps} steps of an MLP with ${message.parameters.toLocaleString('en')} parameters…`);
    case 'step': return onStep(message);
    case 'samples': session.samples = message.points; return drawScatter();
    case 'paused': setState('paused'); return say(`paused at step ${message.step}`);
    case 'done': return onDone(message);
    case 'weights': session.pendingWeights?.resolve(message); session.pendingWeights = null; return;
    case 'error': return fail(message.message);
  }
}

function onStep({ step, loss, learningRate }) {
  session.losses.push(loss);
  document.body.dataset.step = String(step);
  $('step').textContent = `step ${step} / ${session.steps}`;
  $('loss').textContent = `loss ${loss.toFixed(4)}`;
  $('rate').textContent = `lr ${learningRate.toExponential(2)}`;
  if (step % 10 === 0 || step === session.steps) drawCurve();
}

function onDone({ step, ms }) {
  clearInterval(session.timer);
  tick();
  drawCurve();
  setState('done');
  say(`done: ${step} steps in ${(ms / 1000).toFixed(1)} s (${((1000 * step) / ms).toFixed(0)} steps/s)`);
}

function fail(message) {
  clearInterval(session.timer);
  setState('error');
  say(message, true);
  session.pendingWeights?.reject(new Error(message));
}

function say(message, error = false) {
  $('status').textContent = message;
  $('status').style.color = error ? 'var(--error)' : '';
}

function tick() {
  if (document.body.dataset.state === 'training') $('clock').textContent = `${((performance.now() - session.started) / 1000).toFixed(1)} s`;
}

function togglePause() {
  if (document.body.dataset.state === 'paused') {
    session.worker.postMessage({ type: 'resume' });
    setState('training');
    say('training…');
  } else {
    session.worker.postMessage({ type: 'pause' });
  }
}

function weights() {
  if (!session.worker) return Promise.reject(new Error('nothing is training yet'));
  return new Promise((resolve, reject) => {
    session.pendingWeights = { resolve, reject };
    session.worker.postMessage({ type: 'weights' });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Drawing

/** The eight modes (two standard deviations wide) behind the samples. Drawing only: no number here is compared. */
function drawScatter() {
  const canvas = $('scatter'), g = canvas.getContext('2d');
  const { width, height } = canvas;
  const x = (v) => ((v + R) / (2 * R)) * width, y = (v) => height - ((v + R) / (2 * R)) * height;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = 'rgb(102 112 133 / 18%)';
  for (let k = 0; k < 8; k++) {
    g.beginPath();
    g.arc(x(RING * Math.cos((k * Math.PI) / 4)), y(RING * Math.sin((k * Math.PI) / 4)), (2 * MODE_STD * width) / (2 * R), 0, 2 * Math.PI);
    g.fill();
  }
  const points = session.samples;
  if (!points) return;
  g.fillStyle = 'rgb(68 83 214 / 70%)';
  for (let i = 0; i + 1 < points.length; i += 2) g.fillRect(x(points[i]) - 1.5, y(points[i + 1]) - 1.5, 3, 3);
}

function drawCurve() {
  const canvas = $('curve'), g = canvas.getContext('2d');
  const { width, height } = canvas;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  const losses = session.losses;
  if (losses.length < 2) return;
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-6)));
  const lo = Math.min(...logs), hi = Math.max(...logs);
  const px = (i) => 8 + (i / Math.max(1, (session.steps ?? losses.length) - 1)) * (width - 16);
  const py = (v) => height - 8 - ((v - lo) / Math.max(1e-9, hi - lo)) * (height - 16);
  const line = (values, style, lineWidth) => {
    g.strokeStyle = style;
    g.lineWidth = lineWidth;
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(px(i), py(v)) : g.moveTo(px(i), py(v))));
    g.stroke();
  };
  line(logs, 'rgb(102 112 133 / 35%)', 1);
  let mean = logs[0];
  line(logs.map((v) => (mean = 0.98 * mean + 0.02 * v)), 'rgb(68 83 214)', 2);
}

$('train').addEventListener('click', start);
$('pause').addEventListener('click', togglePause);
$('steps').value = params.get('steps') ?? String(GAUSSIAN8.steps);
$('seed').value = params.get('seed') ?? String(GAUSSIAN8.seed);
window.ddpmTrain = {
  start,
  pause: () => session.worker?.postMessage({ type: 'pause' }),
  resume: () => { if (document.body.dataset.state === 'paused') togglePause(); },
  weights,
};
drawScatter();
drawCurve();
if (params.get('train') === '1') start();
