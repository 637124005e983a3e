/**
 * The sampler page: loads a model in a worker (worker.js), and on Sample draws every step of the reverse
 * process as it arrives: the sample x_t on the left, the model's predicted x0 on the right. A drawing pad
 * (drawing.js) lets the visitor draw a digit, which Edit completes (inpainting: the strokes are kept) or cleans
 * up (img2img) with a few-step sampler (edit.js), drawn the same way.
 *
 * The model file comes from ?model=<path from the folder above web/> (default models/mnist.safetensors); the other
 * settings can be given as ?class=7&color=red&n=4&seed=0&steps=50&guidance=2&convolutions=direct and are written
 * back after each run.
 *
 * Hook for tests and the console (the UI itself uses it): `window.ddpm`
 *   ready      a promise of the loaded model's description (replaced when the model changes)
 *   sample()   runs with the form's settings; resolves with { total, ms } when the last step is drawn
 *   edit()     edits the drawing (the form's mode and strength) with the form's settings; resolves as sample()
 *   strokes()  the strokes drawn on the pad, in cells of its 28x28 grid
 *   stop()     ends the current run
 * and `document.body.dataset.state` is 'loading', 'ready', 'sampling', 'done', 'stopped' or 'error'.
 */
import { applyQuery, currentClass, readControls, showClassPickers, writeQuery } from './controls.js';
import { drawingPad } from './drawing.js';

const DEFAULT_MODEL = 'models/mnist.safetensors';
/** About how wide each picture is drawn, in CSS pixels (an integer multiple of its size, so pixels stay square). */
const PICTURE_WIDTH = 340;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const canvases = { sample: $('canvas-sample'), x0: $('canvas-x0') };
const pad = drawingPad($('pad'), () => { $('edit').disabled = editDisabled(); });

/** The worker, the loaded model's description, and the run under way. */
const session = { worker: null, url: null, model: null, run: null, nextId: 1, initial: applyQuery(params) };

window.ddpm = { ready: null, sample, edit, stop, strokes: () => pad.strokes() };

function setState(state) {
  document.body.dataset.state = state;
  const busy = state === 'sampling';
  $('sample').textContent = busy ? 'Stop' : 'Sample';
  $('sample').classList.toggle('stop', busy);
  $('sample').disabled = state === 'loading' || (state === 'error' && session.model === null);
  $('edit').disabled = editDisabled();
}

/** Edit needs a loaded model, a drawing, and no run under way. */
function editDisabled() {
  const state = document.body.dataset.state;
  return pad.isEmpty() || session.model === null || state === 'loading' || state === 'sampling';
}

function say(message, kind = 'info') {
  $('status').textContent = message;
  $('status').dataset.kind = kind;
}

/** Starts a fresh worker and loads `url` in it; returns a promise of the model's description. */
function loadModel(url) {
  session.worker?.terminate();
  endRun()?.reject(new Error('stopped'));
  session.url = url;
  session.model = null;
  setState('loading');
  say(`loading ${url}…`);
  $('model-info').textContent = 'loading…';
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  session.worker = worker;
  const ready = new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => onMessage(data, resolve, reject);
    worker.onerror = (event) => {
      event.preventDefault();
      fail(reject, `the sampler's worker failed: ${event.message || 'it could not start (is web/worker.js served?)'}`);
    };
  });
  ready.catch(() => {});
  // Paths are from the folder above the page's (the repository under `npm run web`, the site's root in the static
  // build of `npm run web:build`), so the page works from any folder of a host.
  worker.postMessage({ type: 'load', url: new URL(`../${url.replace(/^\//, '')}`, location.href).href });
  window.ddpm.ready = ready;
  return ready;
}

function onMessage(message, resolve, reject) {
  switch (message.type) {
    case 'ready': return modelReady(message.model, resolve);
    case 'step': return drawStep(message);
    case 'done': return finishRun(message);
    case 'error': return fail(session.run ? session.run.reject : reject, message.message, message.stage);
  }
}

function modelReady(model, resolve) {
  session.model = model;
  showClassPickers(model, session.initial);
  $('steps').max = String(model.numTrainTimesteps);
  $('model-info').textContent = describe(model);
  setState('ready');
  say('ready: choose what to draw and press Sample');
  resolve(model);
}

function describe(model) {
  const [C, H, W] = model.data.sampleShape;
  const kind = model.kind === 'unet2d' ? 'U-Net' : model.kind;
  const trained = model.trainingSteps ? `, trained ${model.trainingSteps.toLocaleString('en')} steps` : '';
  return `${kind}, ${(model.parameters / 1e6).toFixed(2)} M parameters, ${C === 3 ? 'RGB' : 'grey'} ${H}×${W}${trained}`;
}

function fail(reject, message, stage) {
  const wasRunning = endRun() !== null;
  setState('error');
  if (stage === 'model' || stage === 'library') $('model-info').textContent = 'not loaded';
  say(message, 'error');
  reject?.(new Error(message));
  if (wasRunning) $('bar').style.width = '0%';
}

/**
 * Runs the sampler with the form's settings (stopping a run under way first); resolves with { total, ms } once
 * the final image is drawn.
 */
function sample() {
  return run('sample', {}, (o) => `sampling ${o.batchSize} × ${o.caption ? `'${o.caption}'` : 'image'}${o.caption ? `, guidance ${o.guidance}` : ''}…`);
}

/** Edits the drawing: completes it (its strokes kept) or cleans it up, with the form's digit, count, seed and guidance. */
function edit() {
  if (pad.isEmpty()) {
    say('draw a digit on the pad first', 'error');
    return Promise.reject(new Error('draw a digit on the pad first'));
  }
  const mode = document.querySelector('input[name="edit-mode"]:checked')?.value ?? 'complete';
  const extra = { mode, strength: Number($('strength').value), ink: pad.ink() };
  return run('edit', extra, (o) => `${mode === 'complete' ? 'completing' : 'cleaning up'} your drawing as ${o.batchSize} × ${o.caption ? `'${o.caption}'` : 'image'}…`);
}

/** Runs a job of the worker ('sample' or 'edit') with the form's settings and `extra`; resolves with { total, ms }. */
async function run(type, extra, describe) {
  if (session.run) {
    stop();
    await window.ddpm.ready;
  }
  if (!session.model) throw new Error('no model is loaded');
  let options;
  try {
    options = readControls(session.model);
  } catch (error) {
    say(error.message, 'error');
    throw error;
  }
  writeQuery(session.url);
  const id = session.nextId++;
  const { caption: _caption, ...request } = options;
  const done = new Promise((resolve, reject) => {
    session.run = { id, resolve, reject, started: performance.now(), timer: setInterval(tick, 100) };
  });
  resetProgress();
  setState('sampling');
  say(describe(options));
  updateReadout(0, type === 'sample' ? options.steps : '…', null);
  session.worker.postMessage({ type, id, ...request, ...extra });
  return await done;
}

/** Ends the run under way: the worker is ended and a fresh one loads the same model. */
function stop() {
  if (!session.run) return;
  const reached = $('counter').textContent;
  session.initial = currentClass();
  loadModel(session.url).then(() => {
    setState('stopped');
    say(`stopped at ${reached}`);
  });
}

function drawStep({ id, index, total, timestep, sample: image, x0 }) {
  if (session.run?.id !== id) return;
  paint(canvases.sample, image);
  paint(canvases.x0, x0);
  updateReadout(index + 1, total, timestep);
  $('bar').style.width = `${((index + 1) / total) * 100}%`;
}

function finishRun({ id, total, ms, convolutions }) {
  if (session.run?.id !== id) return;
  const run = endRun();
  $('clock').textContent = seconds(ms);
  setState('done');
  const how = { winograd: ', Winograd convolutions', direct: ', direct convolutions' }[convolutions] ?? '';
  say(`done: ${total} steps in ${seconds(ms)} (${(ms / total).toFixed(0)} ms per step${how})`, 'done');
  run.resolve({ total, ms });
}

/** Ends the bookkeeping of the run under way, if any; returns it (its promise is the caller's to settle). */
function endRun() {
  const run = session.run;
  if (run) clearInterval(run.timer);
  session.run = null;
  return run;
}

function tick() {
  if (session.run) $('clock').textContent = seconds(performance.now() - session.run.started);
}

function updateReadout(step, total, timestep) {
  $('counter').textContent = `step ${step} / ${total}${timestep === null ? '' : ` · t = ${timestep}`}`;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Puts an RGBA grid on a canvas, drawn at an integer multiple of its size. */
function paint(canvas, { width, height, data }) {
  if (canvas.width !== width || canvas.height !== height) {
    Object.assign(canvas, { width, height });
    const scale = Math.max(1, Math.round(PICTURE_WIDTH / width));
    canvas.style.width = `${width * scale}px`;
  }
  canvas.getContext('2d').putImageData(new ImageData(data, width, height), 0, 0);
}

function resetProgress() {
  $('bar').style.width = '0%';
  $('clock').textContent = seconds(0);
}

function chooseModel(url) {
  const select = $('model');
  if (![...select.options].some((o) => o.value === url)) select.add(new Option(url.split('/').slice(-2).join('/'), url));
  select.value = url;
}

$('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  if (session.run) stop();
  else sample().catch(() => {});
});
$('model').addEventListener('change', () => {
  session.initial = currentClass();
  loadModel($('model').value).catch(() => {});
});
$('dice').addEventListener('click', () => { $('seed').value = String(crypto.getRandomValues(new Uint32Array(1))[0] % 100000); });
$('guidance').addEventListener('input', () => { $('guidance-value').value = $('guidance').value; });
$('strength').addEventListener('input', () => { $('strength-value').value = $('strength').value; });
$('edit').addEventListener('click', () => { edit().catch(() => {}); });
$('clear').addEventListener('click', () => pad.clear());
for (const radio of document.querySelectorAll('input[name="edit-mode"]')) {
  radio.addEventListener('change', () => { $('strength-field').hidden = $('edit-clean').checked === false; });
}

const initialModel = params.get('model') ?? DEFAULT_MODEL;
chooseModel(initialModel);
loadModel(initialModel).catch(() => {});
