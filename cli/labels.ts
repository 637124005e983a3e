/**
 * Which class labels `ddpm sample` draws, from --class and --color and what the model file says about its data.
 *
 * - A class-conditional model (or an unconditional one steered by --classifier) has class names in its file
 *   (mnist: '0'..'9'; colored-mnist: '7 red', label digit * 6 + color; a folder: its sub-folders).
 * - --class is a class index or name; for colored-mnist it is the digit (0-9), which --color completes.
 * - Without --class (or with only one of digit and color), every matching class is drawn in turn.
 * - colored-mnist-attributes (labels per attribute, core/attribute-labels.ts): --class and --color each name one
 *   attribute, and one left out means 'any': `--color red` alone is the single label 'any red' (red digits of
 *   every kind), `--class 7` alone '7 any'; with neither, every (digit, color) pair in turn.
 */
import { PALETTE } from '../bindings/data/mnist.ts';
import { encodeAttributes, type ModelMetadata } from '../bindings/index.ts';
import { fail } from './errors.ts';

export interface LabelPlan {
  /** The labels that match --class / --color, in order; sampling cycles through them. Empty: unconditional. */
  candidates: number[];
  /** Each class label's name. */
  names: readonly string[];
}

/** The classes that match the flags, given the data of the model (or of the classifier that steers it). */
export function planLabels(data: ModelMetadata['data'], conditional: boolean, flags: { class?: string; color?: string }): LabelPlan {
  const names = data.classNames;
  const colored = data.name === 'colored-mnist';
  if (!conditional) {
    const flag = flags.class !== undefined ? `--class ${flags.class}` : flags.color !== undefined ? `--color ${flags.color}` : null;
    if (flag) {
      fail(`${flag}: the model was trained on '${data.name}' without class labels (it is unconditional); ` +
        `class labels need a model trained with --class-cond, or a --classifier`);
    }
    return { candidates: [], names };
  }
  if (data.name === 'colored-mnist-attributes') return attributeLabels(names, flags);
  if (flags.color !== undefined && !colored) {
    fail(`--color ${flags.color}: only colored-mnist models know colors; this model was trained on '${data.name}'`);
  }
  if (colored) return coloredDigits(names, flags);
  if (flags.class === undefined) return { candidates: names.map((_, k) => k), names };
  return { candidates: [classIndex(flags.class, names, data.name)], names };
}

/** colored-mnist: --class picks the digit, --color the color, or a full name such as '7 red'. */
function coloredDigits(names: readonly string[], flags: { class?: string; color?: string }): LabelPlan {
  const colors = PALETTE.map((c) => c.name);
  if (flags.class !== undefined && names.includes(flags.class.trim())) {
    if (flags.color !== undefined) fail(`--class '${flags.class}' already names a color; leave out --color ${flags.color}`);
    return { candidates: [names.indexOf(flags.class.trim())], names };
  }
  let digits = Array.from({ length: 10 }, (_, d) => d);
  if (flags.class !== undefined) {
    const digit = Number(flags.class);
    if (!/^\d+$/.test(flags.class.trim()) || digit > 9) {
      fail(`--class ${flags.class}: colored-mnist classes are the digits 0-9 (with --color ${colors.join('|')}), or names such as '7 red'`);
    }
    digits = [digit];
  }
  let tints = colors.map((_, c) => c);
  if (flags.color !== undefined) {
    const color = colors.indexOf(flags.color.trim().toLowerCase());
    if (color < 0) fail(`--color ${flags.color}: no such color; the colors are ${colors.join(', ')}`);
    tints = [color];
  }
  return { candidates: digits.flatMap((d) => tints.map((c) => d * colors.length + c)), names };
}

/** colored-mnist-attributes: the digit and the color each given or 'any' (see the top of the file). */
function attributeLabels(names: readonly string[], flags: { class?: string; color?: string }): LabelPlan {
  const colors = PALETTE.map((c) => c.name), sizes = [10, colors.length];
  let digit: number | null = null, color: number | null = null;
  if (flags.class !== undefined) {
    digit = Number(flags.class);
    if (!/^\d+$/.test(flags.class.trim()) || digit > 9) fail(`--class ${flags.class}: colored-mnist-attributes digits are 0-9 (leave --class out for any digit)`);
  }
  if (flags.color !== undefined) {
    color = colors.indexOf(flags.color.trim().toLowerCase());
    if (color < 0) fail(`--color ${flags.color}: no such color; the colors are ${colors.join(', ')} (leave --color out for any color)`);
  }
  if (digit === null && color === null) {
    const pairs = Array.from({ length: 10 }, (_, d) => colors.map((_, c) => encodeAttributes([d, c], sizes))).flat();
    return { candidates: pairs, names };
  }
  return { candidates: [encodeAttributes([digit ?? sizes[0], color ?? sizes[1]], sizes)], names };
}

/** A class given as an index or a name. */
function classIndex(value: string, names: readonly string[], data: string): number {
  const byName = names.indexOf(value);
  if (byName >= 0) return byName;
  const index = Number(value);
  if (/^\d+$/.test(value.trim()) && index < names.length) return index;
  const listed = names.length <= 20 ? names.join(', ') : `${names.slice(0, 20).join(', ')}, ...`;
  fail(`--class ${value}: no such class in '${data}'; classes are 0-${names.length - 1} or their names: ${listed}`);
}

/** `num` labels cycling through the candidates. */
export function cycleLabels(candidates: readonly number[], num: number): Int32Array {
  return Int32Array.from({ length: num }, (_, i) => candidates[i % candidates.length]);
}
