/**
 * Argument checks shared by the ops. Every op validates its inputs here, before any call into WebAssembly, and
 * throws an Error that names the op, the argument, what was expected and the shapes involved.
 */
import { Tensor, type Shape } from '../tensor.ts';

export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

/** Checks that `value` is a live Tensor of rank `rank` (when given); returns its shape. */
export function tensorArg(op: string, name: string, value: unknown, rank?: number, legend?: string): Shape {
  if (!(value instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${describe(value)}`);
  if (value.isDisposed) throw new Error(`${op}: ${name} was disposed`);
  if (rank !== undefined && value.shape.length !== rank) {
    throw new Error(`${op}: ${name} must have rank ${rank}${legend ? ` ${legend}` : ''}, got shape ${fmt(value.shape)}`);
  }
  return value.shape;
}

/** Checks that `value` is an integer >= min. */
export function intArg(op: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** Checks that `value` is a finite number (optionally > 0). */
export function numberArg(op: string, name: string, value: unknown, positive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (positive && value <= 0)) {
    throw new Error(`${op}: ${name} must be a finite${positive ? ' positive' : ''} number, got ${describe(value)}`);
  }
  return value;
}

/** Checks that two shapes are equal. */
export function sameShape(op: string, nameA: string, a: Shape, nameB: string, b: Shape): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${op}: ${nameB} must have the shape of ${nameA}: ${nameA} ${fmt(a)}, ${nameB} ${fmt(b)}`);
  }
}

function describe(value: unknown): string {
  if (value instanceof Tensor) return `Tensor${fmt(value.shape)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array [${value.join(', ')}]`;
  return typeof value === 'string' ? `'${value}'` : typeof value === 'number' ? String(value) : typeof value;
}
