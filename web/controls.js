/**
 * The page's controls: the class pickers built from the model file's class names (digits, and colors for the
 * colored model, whose classes are named like '7 red'), reading the form into sampling options, and keeping
 * them in the address bar so that a link reproduces the same pixels.
 */

/** Swatches of the colored model's palette (its class names carry only the color's name). */
const SWATCHES = { red: '#ff0000', green: '#00ff00', blue: '#0000ff', yellow: '#ffff00', magenta: '#ff00ff', cyan: '#00ffff' };
const DIGIT_DATA = ['mnist', 'colored-mnist'];

const $ = (id) => document.getElementById(id);

/**
 * The class pickers for a model: `primary` (digits, or any class names) and `secondary` (colors) when every
 * class is named '<a> <b>' and the names form a full grid of a's and b's. Null for unconditional models.
 */
export function classGroups(model) {
  if (model.numClasses === 0) return null;
  const names = model.data.classNames?.length === model.numClasses
    ? model.data.classNames : Array.from({ length: model.numClasses }, (_, k) => String(k));
  const parts = names.map((name) => name.split(' '));
  if (parts.every((p) => p.length === 2)) {
    const primary = unique(parts.map((p) => p[0])), secondary = unique(parts.map((p) => p[1]));
    if (primary.length * secondary.length === names.length) return { names, primary, secondary };
  }
  return { names, primary: names, secondary: null };
}

function unique(values) {
  return [...new Set(values)];
}

/** Builds the pickers for `model`, selecting `initial` ({ primary, secondary } names) when they exist. */
export function showClassPickers(model, initial) {
  const groups = classGroups(model);
  $('class-field').hidden = groups === null;
  $('guidance-field').hidden = groups === null;
  $('color-field').hidden = !groups?.secondary;
  if (!groups) return;
  $('class-legend').textContent = DIGIT_DATA.includes(model.data.name) ? 'Digit' : 'Class';
  // Without a choice in the address bar: the digit 7 (or the first class), in the first color.
  const fallback = groups.primary.includes('7') ? '7' : groups.primary[0];
  fillChoices($('classes'), 'class', groups.primary, initial.primary ?? fallback, textChoice);
  if (groups.secondary) fillChoices($('colors'), 'color', groups.secondary, initial.secondary ?? groups.secondary[0], swatchChoice);
}

function fillChoices(container, group, values, wanted, render) {
  const selected = values.includes(wanted) ? wanted : values[0];
  container.replaceChildren(...values.map((value) => {
    const label = document.createElement('label');
    const input = Object.assign(document.createElement('input'), { type: 'radio', name: group, value, checked: value === selected });
    label.append(input, render(value));
    return label;
  }));
}

function textChoice(name) {
  return Object.assign(document.createElement('span'), { textContent: name });
}

function swatchChoice(name) {
  const span = Object.assign(document.createElement('span'), { title: name });
  span.style.setProperty('--swatch', SWATCHES[name] ?? name);
  span.append(Object.assign(document.createElement('span'), { className: 'visually-hidden', textContent: name }));
  return span;
}

/** The checked value of a radio group, or null. */
function checked(group) {
  return document.querySelector(`input[name="${group}"]:checked`)?.value ?? null;
}

/**
 * The sampling options the form describes, checked: { batchSize, steps, seed, classLabel, guidance, caption,
 * convolutions } (convolutions: 'winograd' while its box is ticked, the default; else 'direct'; see GenerateOptions).
 * Throws an Error naming the field when a value is out of range.
 */
export function readControls(model) {
  const seed = integerField('seed', 'Seed', 0, 2 ** 32 - 1);
  const steps = integerField('steps', 'Steps', 1, model.numTrainTimesteps);
  const batchSize = Number(checked('count') ?? 1);
  const guidance = Number($('guidance').value);
  const convolutions = $('winograd').checked ? 'winograd' : 'direct';
  const groups = classGroups(model);
  if (!groups) return { batchSize, steps, seed, classLabel: null, guidance: 1, caption: '', convolutions };
  const primary = checked('class'), secondary = groups.secondary ? checked('color') : null;
  const name = secondary === null ? primary : `${primary} ${secondary}`;
  const classLabel = groups.names.indexOf(name);
  if (classLabel < 0) throw new Error(`choose a ${groups.secondary ? 'digit and a color' : 'class'} first`);
  return { batchSize, steps, seed, classLabel, guidance, caption: name, convolutions };
}

function integerField(id, label, min, max) {
  const text = $(id).value.trim();
  const value = Number(text);
  if (text === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${label} must be a whole number from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/** The settings of the address bar (?model=&class=&color=&n=&seed=&steps=&guidance=&convolutions=), applied to the form. */
export function applyQuery(params) {
  const set = (id, key) => { if (params.has(key)) $(id).value = params.get(key); };
  set('seed', 'seed');
  set('steps', 'steps');
  set('guidance', 'guidance');
  $('winograd').checked = params.get('convolutions') !== 'direct';
  const count = document.querySelector(`input[name="count"][value="${CSS.escape(params.get('n') ?? '')}"]`);
  if (count) count.checked = true;
  $('guidance-value').value = $('guidance').value;
  return { primary: params.get('class'), secondary: params.get('color') };
}

/** Writes the form's settings into the address bar (without reloading). */
export function writeQuery(modelUrl) {
  const params = new URLSearchParams({ model: modelUrl });
  if (checked('class') !== null) params.set('class', checked('class'));
  if (!$('color-field').hidden && checked('color') !== null) params.set('color', checked('color'));
  params.set('n', checked('count') ?? '1');
  for (const id of ['seed', 'steps', 'guidance']) params.set(id, $(id).value);
  if (!$('winograd').checked) params.set('convolutions', 'direct');
  history.replaceState(null, '', `?${params}`);
}

/** Which class the form shows now, to keep it when the model changes. */
export function currentClass() {
  return { primary: checked('class'), secondary: checked('color') };
}
