// Short runs of floats zeroed or copied with v128 stores (not wasm exports: index.ts does not re-export this file).
// memory.fill and memory.copy are a call into the engine in V8, which costs more than the work for the few
// floats of a padding border or of a 7-wide row.

/** p[0 .. count) = 0. */
// @ts-ignore: decorator
@inline export function zeroRun(p: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(p + (<usize>i << 2), zero);
  for (; i < count; i++) store<f32>(p + (<usize>i << 2), 0);
}

/** dst[0 .. count) = src[0 .. count) (the runs must not overlap). */
// @ts-ignore: decorator
@inline export function copyRun(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}
