/**
 * Tensors: float32, row-major (NCHW for images), stored in WebAssembly memory.
 *
 * The memory rule, in one sentence: a tensor lives until `dispose()` is called on it, or until the `tidy(fn)`
 * it was created in returns, unless `fn` returned it (then it moves to the enclosing scope). A training step or
 * a sampling step runs inside `tidy`, so it allocates and frees the same blocks every time and memory stays flat.
 * When `fn` throws, `tidy` disposes everything it created and rethrows, so a failed step leaks nothing.
 */
import { allocator, OutOfMemoryError } from './core/allocator.ts';
import { wasm } from './core/instance.ts';

export type Shape = readonly number[];

/** Tensors created in each open `tidy` scope, innermost last. */
const scopes: Set<Tensor>[] = [];

export class Tensor {
  /** Byte address of the first element in WebAssembly memory. */
  readonly ptr: number;
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;
  /** The tensor whose storage this one views (see `subview`), or null when it owns its storage. */
  readonly base: Tensor | null;
  private alive = true;

  /** Allocates uninitialised storage; use `Tensor.from`, `Tensor.zeros` or an op instead. */
  constructor(shape: Shape, viewOf?: { base: Tensor; ptr: number }) {
    this.shape = Object.freeze(checkShape(shape, 'Tensor'));
    this.size = this.shape.reduce((a, b) => a * b, 1);
    if (viewOf) {
      this.base = viewOf.base;
      this.ptr = viewOf.ptr;
    } else {
      this.base = null;
      this.ptr = allocateFor(this.shape, this.size);
      scopes[scopes.length - 1]?.add(this);
    }
  }

  /** A tensor holding a copy of `data` (length must equal the product of `shape`). */
  static from(data: Float32Array | readonly number[], shape: Shape): Tensor {
    const expected = checkShape(shape, 'Tensor.from').reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new Error(`Tensor.from: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${expected}`);
    }
    const t = new Tensor(shape);
    t.view().set(data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  /** A tensor of zeros. */
  static zeros(shape: Shape): Tensor {
    const t = new Tensor(shape);
    t.view().fill(0);
    return t;
  }

  /** A copy of the data out of WebAssembly memory. */
  toFloat32Array(): Float32Array {
    return this.view().slice();
  }

  /**
   * A live Float32Array over the tensor's storage: valid only until the next allocation (growing the memory
   * detaches it). For library code; users should prefer `toFloat32Array()`.
   */
  view(): Float32Array {
    if (this.isDisposed) throw new Error(`Tensor: used after dispose() (shape [${this.shape.join(', ')}])`);
    return new Float32Array(wasm().memory.buffer, this.ptr, this.size);
  }

  /**
   * A tensor that shares this one's storage: `shape` elements starting at element `offset`. Views own nothing
   * (their `dispose()` does nothing) and must not outlive their base. Parameters and gradients are views into
   * one flat tensor each, so optimizers and checkpoints see a single buffer.
   */
  subview(offset: number, shape: Shape): Tensor {
    const size = checkShape(shape, 'subview').reduce((a, b) => a * b, 1);
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.size) {
      throw new Error(`subview: elements [${offset}, ${offset + size}) are outside a tensor of ${this.size} elements`);
    }
    return new Tensor(shape, { base: this.base ?? this, ptr: this.ptr + offset * 4 });
  }

  /** Frees the storage now (views free nothing). Disposing twice is harmless. */
  dispose(): void {
    if (!this.alive) return;
    this.alive = false;
    if (this.base !== null) return;
    allocator.release(this.ptr);
    for (const scope of scopes) scope.delete(this);
  }

  get isDisposed(): boolean { return !this.alive || (this.base !== null && this.base.isDisposed); }

  /** A copy of the tensor: new storage, the same shape and data. */
  clone(): Tensor {
    return this.reshape(this.shape);
  }

  /** A new tensor with the same data and another shape of the same size. */
  reshape(shape: Shape): Tensor {
    const size = checkShape(shape, 'reshape').reduce((a, b) => a * b, 1);
    if (size !== this.size) {
      throw new Error(`reshape: cannot reshape [${this.shape.join(', ')}] (${this.size} elements) to [${shape.join(', ')}] (${size})`);
    }
    const t = new Tensor(shape);
    t.view().set(this.view());
    return t;
  }

  toString(): string { return `Tensor[${this.shape.join(', ')}]`; }
}

/**
 * Runs `fn` and disposes every tensor created during it, except the ones it returns (a tensor, or an array or
 * plain object holding tensors), which move to the enclosing scope. Scopes nest. When `fn` throws, every tensor
 * it created is disposed (none is returned) and the error is rethrown.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    for (const t of scope) t.dispose();
    throw error;
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) if (scope.has(t)) parent.add(t);
  return result;
}

/** Removes `t` from every open scope, so that no `tidy` disposes it; returns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

/**
 * Bytes of WebAssembly memory held by live tensors and other allocations, the most held at once since the start
 * (or since `resetPeakBytes`), the heap's size (it grows, never shrinks) and the most it may grow to.
 */
export function memoryStats(): { liveBytes: number; peakBytes: number; heapBytes: number; limitBytes: number } {
  return { liveBytes: allocator.liveBytes, peakBytes: allocator.peakBytes, heapBytes: allocator.heapBytes, limitBytes: allocator.limitBytes };
}

/** Starts a new peak measurement: `memoryStats().peakBytes` becomes the bytes live now. */
export function resetPeakBytes(): void {
  allocator.resetPeak();
}

/**
 * Caps how far the WebAssembly memory may grow, in bytes (null: wasm32's 4 GiB, the default). An allocation
 * beyond it throws an `OutOfMemoryError` instead of growing, so a page or a server can bound one instance.
 */
export function setMemoryLimit(bytes: number | null): void {
  allocator.setLimit(bytes);
}

export { OutOfMemoryError };

/** Storage for a tensor; an out-of-memory error names the tensor's shape. */
function allocateFor(shape: Shape, size: number): number {
  try {
    return allocator.alloc(size * 4);
  } catch (error) {
    if (!(error instanceof OutOfMemoryError)) throw error;
    throw new OutOfMemoryError(`a tensor of shape [${shape.join(', ')}]: ${error.message}`, error.requestedBytes, error.liveBytes, error.limitBytes);
  }
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

/** Validates a shape: an array of non-negative integers. Returns a copy. */
export function checkShape(shape: Shape, op: string): number[] {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: shape [${shape.join(', ')}] has an invalid size ${d}: sizes must be non-negative integers`);
  }
  return [...shape];
}
