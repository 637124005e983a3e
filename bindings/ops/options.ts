/**
 * Checks of an op's options object, before any other use of it: a plain object whose keys are all known (an
 * unknown key is an error naming it and the nearest known one, since `conv2d(x, w, b, { dilation: 2 })` would
 * otherwise run undilated), and flags that are real booleans (`transposeA: 'yes'` is not true).
 */
import { unknownKeyMessage } from '../core/names.ts';

/** Checks that `options` is a plain object (or undefined) with only `known` keys; returns it (or {}). */
export function optionsArg<T extends object>(op: string, options: T | undefined, known: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${op}: options must be an object { ${known.join(', ')} }, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(unknownKeyMessage(op, 'option', key, known));
  }
  return options;
}

/** A boolean option: absent gives `fallback`; anything but true or false is an error. */
export function booleanOption(op: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new Error(`${op}: ${name} must be true or false, got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  return value;
}
