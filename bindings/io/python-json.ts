/**
 * JSON text exactly as diffusers writes its config files: Python's `json.dumps(value, indent=2, sort_keys=True)`
 * plus a newline (diffusers' ConfigMixin.to_json_string). Byte-for-byte agreement with diffusers makes exported
 * folders diffable against PyTorch's and makes every export deterministic.
 *
 * Python distinguishes ints from floats where JavaScript has one number type: a value wrapped in `PythonFloat`
 * is written as Python writes a float (`repr`: the shortest round-trip digits, as JavaScript finds them, but in
 * exponent form below 1e-4 or from 1e16 up, with a two-digit exponent, and with '.0' when integral: 1e-05,
 * 0.0001, 1.0); a plain number must be an integer and is written as one. Strings are ASCII-escaped like Python's
 * default `ensure_ascii`.
 */

/** A number that Python holds as a float (written 1.0, 1e-05), not an int. */
export class PythonFloat {
  constructor(readonly value: number) {}
}

export type PythonJson = null | boolean | number | string | PythonFloat | PythonJson[] | { [key: string]: PythonJson };

/** The text of `value` as diffusers writes a config file (2-space indent, sorted keys, trailing newline). */
export function formatPythonJson(value: PythonJson): string {
  return `${format(value, '')}\n`;
}

/** Python's repr of a float. */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`python-json: ${x} has no JSON form (diffusers would write NaN or Infinity)`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = x.toExponential().split('e');
  const exponent = Number(exponentText);
  const sign = x < 0 ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}

function format(value: PythonJson, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`python-json: ${value} is not an integer; wrap floats in PythonFloat`);
    return String(value);
  }
  if (typeof value === 'string') return asciiString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + format(item, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((key) => `${inner}${asciiString(key)}: ${format(value[key], inner)}`).join(',\n')}\n${indent}}`;
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
