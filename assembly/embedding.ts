// Sinusoidal timestep embeddings, the input of the denoisers' time conditioning, as diffusers'
// get_timestep_embedding (computed in f64, stored as f32):
//   half = floor(DIM / 2), freq_i = exp(-ln(maxPeriod) * i / (half - downscaleFreqShift)), e_ni = t_n * freq_i,
//   out[n] = [sin e_n0 .. sin e_n(half-1), cos e_n0 .. cos e_n(half-1)] ([cos .., sin ..] when flipSinToCos),
//   then a zero column when DIM is odd. timesteps is f32 [N]; out is [N, DIM].
import { at } from './reduce';

/** Computes each frequency once and walks the batch under it; same bits as the scalar twin. */
export function timestepEmbedding(
  out: usize, timesteps: usize, N: i32, DIM: i32, flipSinToCos: i32, downscaleFreqShift: f32, maxPeriod: f32,
): void {
  const half = DIM >> 1;
  for (let i = 0; i < half; i++) {
    const freq = timestepFrequency(i, half, downscaleFreqShift, maxPeriod);
    for (let n = 0; n < N; n++) storeSinCos(out, n, i, half, DIM, flipSinToCos, <f64>load<f32>(at(timesteps, n)) * freq);
  }
  if (DIM & 1) for (let n = 0; n < N; n++) store<f32>(at(out, n * DIM + DIM - 1), 0);
}

export function timestepEmbeddingScalar(
  out: usize, timesteps: usize, N: i32, DIM: i32, flipSinToCos: i32, downscaleFreqShift: f32, maxPeriod: f32,
): void {
  const half = DIM >> 1;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < half; i++) {
      const e = <f64>load<f32>(at(timesteps, n)) * timestepFrequency(i, half, downscaleFreqShift, maxPeriod);
      storeSinCos(out, n, i, half, DIM, flipSinToCos, e);
    }
    if (DIM & 1) store<f32>(at(out, n * DIM + DIM - 1), 0);
  }
}

// @ts-ignore: decorator
@inline function timestepFrequency(i: i32, half: i32, downscaleFreqShift: f32, maxPeriod: f32): f64 {
  return Math.exp(-Math.log(<f64>maxPeriod) * <f64>i / (<f64>half - <f64>downscaleFreqShift));
}

// @ts-ignore: decorator
@inline function storeSinCos(out: usize, n: i32, i: i32, half: i32, DIM: i32, flipSinToCos: i32, e: f64): void {
  const row = n * DIM;
  store<f32>(at(out, row + (flipSinToCos ? half + i : i)), <f32>Math.sin(e));
  store<f32>(at(out, row + (flipSinToCos ? i : half + i)), <f32>Math.cos(e));
}

// Gaussian Fourier features of the timesteps (score-SDE's NCSN++, as diffusers' GaussianFourierProjection with
// log = True, flip_sin_to_cos = False builds them for UNet2DModel's time_embedding_type 'fourier'), in float32
// in PyTorch's order of operations: l_n = log(t_n) (rounded once to f32, as glibc's logf), p_ni = ((l_n · w_i) · 2)
// · π (each product rounded to f32; π as f32), out[n] = [sin p_n0 .. sin p_n(C-1), cos p_n0 .. cos p_n(C-1)] with
// sin and cos of the f32 p taken in f64 and rounded once. timesteps f32 [N] (positive: the op checks), weight f32
// [C] (the frequencies), out [N, 2C].

/** Walks the frequencies in the outer loop (each weight read once); same bits as the scalar twin. */
export function fourierEmbedding(out: usize, timesteps: usize, weight: usize, N: i32, C: i32): void {
  for (let i = 0; i < C; i++) {
    const w = load<f32>(at(weight, i));
    for (let n = 0; n < N; n++) storeFourier(out, n, i, C, fourierPhase(load<f32>(at(timesteps, n)), w));
  }
}

export function fourierEmbeddingScalar(out: usize, timesteps: usize, weight: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) storeFourier(out, n, i, C, fourierPhase(load<f32>(at(timesteps, n)), load<f32>(at(weight, i))));
  }
}

// @ts-ignore: decorator
@inline function fourierPhase(t: f32, w: f32): f32 {
  const l = <f32>Math.log(<f64>t);
  return ((l * w) * <f32>2) * <f32>Math.PI;
}

// @ts-ignore: decorator
@inline function storeFourier(out: usize, n: i32, i: i32, C: i32, p: f32): void {
  store<f32>(at(out, 2 * n * C + i), <f32>Math.sin(<f64>p));
  store<f32>(at(out, 2 * n * C + C + i), <f32>Math.cos(<f64>p));
}
