// Linear memory layout. Kernels allocate nothing: static scratch (matmul's packing buffers) sits below
// __heap_base, and everything above it belongs to the allocator in bindings/core/allocator.ts, which hands
// the kernels raw pointers.

/** The first byte the JavaScript allocator may use. */
export function heapBase(): usize {
  return __heap_base;
}
