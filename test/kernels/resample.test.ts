// The resampling kernels (assembly/resample.ts): 2x2 average pooling, FIR (1, 3, 3, 1) down- and upsampling and
// zero padding, forward and backward. Each SIMD kernel against its scalar twin (identical bits: the vector loops
// do the scalar routine's operations in its order), against a float64 reference written from diffusers'
// upfirdn2d_native (test/ref/resample.ts), and each backward against central differences of that reference.
// The shapes cover a single pixel's neighbourhood (2x2), planes narrower and wider than the vector blocks, odd
// widths (upsampling) and several planes. PyTorch's own values are pinned in diffusers-layers.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, toF64 } from '../helpers.ts';
import { avgPoolRef, firDownRef, firUpRef, padRef } from '../ref/resample.ts';

await init();

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(t.toFloat32Array().buffer));
const run = (name: string, ...args: number[]) => (wasm() as unknown as Record<string, (...a: number[]) => void>)[name](...args);
const TIGHT = { atol: 1e-6, rtol: 1e-6 };
const FD = { atol: 1e-6, rtol: 1e-6 };

/** A kernel and its scalar twin on copies of `prior` (or zeros): identical bits; returns the SIMD result. */
function twins(name: string, shape: number[], args: (out: number) => number[], prior?: Tensor): Tensor {
  const simd = prior ? prior.clone() : Tensor.zeros(shape), scalar = prior ? prior.clone() : Tensor.zeros(shape);
  run(name, ...args(simd.ptr));
  run(`${name}Scalar`, ...args(scalar.ptr));
  assert.equal(bits(simd), bits(scalar), `${name}: the SIMD kernel and its scalar twin differ`);
  return simd;
}

/** The gradient of <ref(x), r> wrt x by central differences in float64 (the references are linear: exact). */
const adjoint = (ref: (x: Float64Array) => Float64Array, x: Tensor, r: Tensor): Float64Array =>
  finiteDifference((v) => dot(ref(v), toF64(r)), toF64(x), 1e-3);

// [N, C, H, W] with H, W even (the down kernels need them; the up kernels take these as their input too).
const EVEN = [[1, 1, 2, 2], [2, 3, 4, 6], [1, 2, 8, 20], [1, 1, 12, 22], [1, 1, 2, 30]];
const ANY = [[1, 1, 1, 1], [1, 1, 3, 5], [2, 2, 5, 13], [1, 1, 4, 11], [1, 3, 2, 7]];

for (const [N, C, H, W] of EVEN) {
  test(`avgPool2x2 and firDownsample2x [${N}, ${C}, ${H}, ${W}]: SIMD = scalar twin (bits) ~ float64, backward = adjoint`, () => {
    tidy(() => {
      const P = N * C, small = [N, C, H / 2, W / 2];
      const x = randomTensor([N, C, H, W], H * 31 + W), r = randomTensor(small, H + W), prior = randomTensor([N, C, H, W], 7);
      const size = [N, C, H, W];
      for (const [name, ref] of [['avgPool2x2', avgPoolRef], ['firDownsample2x', firDownRef]] as const) {
        const y = twins(`${name}Forward`, small, (out) => [out, x.ptr, ...size]);
        const f = (v: ArrayLike<number>) => ref(v, P, H, W);
        assertClose(y, f(toF64(x)), TIGHT, `${name} forward`);
        assert.equal(bits(ops[name](x)), bits(y), `${name}: the op runs the kernel`);
        const dx = twins(`${name}Backward`, size, (dxPtr) => [dxPtr, r.ptr, ...size], prior);
        const expected = adjoint(f, x, r).map((g, i) => g + prior.toFloat32Array()[i]);
        assertClose(dx, expected, FD, `${name} backward (adds into dx)`);
        assert.equal(bits(ops[`${name}Backward`](r, { dx: prior.clone() })), bits(dx));
      }
    });
  });
}

for (const [N, C, H, W] of [...ANY, ...EVEN]) {
  test(`firUpsample2x [${N}, ${C}, ${H}, ${W}]: SIMD = scalar twin (bits) ~ float64, backward = adjoint`, () => {
    tidy(() => {
      const P = N * C, big = [N, C, 2 * H, 2 * W], size = [N, C, H, W];
      const x = randomTensor(size, H * 17 + W), r = randomTensor(big, 3 * H + W), prior = randomTensor(size, 9);
      const f = (v: ArrayLike<number>) => firUpRef(v, P, H, W);
      const y = twins('firUpsample2xForward', big, (out) => [out, x.ptr, ...size]);
      assertClose(y, f(toF64(x)), TIGHT, 'firUpsample2x forward');
      assert.equal(bits(ops.firUpsample2x(x)), bits(y));
      const dx = twins('firUpsample2xBackward', size, (dxPtr) => [dxPtr, r.ptr, ...size], prior);
      assertClose(dx, adjoint(f, x, r).map((g, i) => g + prior.toFloat32Array()[i]), FD, 'firUpsample2x backward');
      assert.equal(bits(ops.firUpsample2xBackward(r, { dx: prior.clone() })), bits(dx));
    });
  });
}

for (const [shape, pads] of [[[1, 1, 3, 5], [0, 1, 0, 1]], [[2, 3, 4, 9], [2, 0, 3, 5]], [[1, 1, 1, 1], [0, 0, 0, 0]], [[1, 2, 6, 13], [1, 1, 1, 1]]] as [number[], number[]][]) {
  test(`pad2d ${shape.join('x')} by ${pads.join(', ')}: SIMD = scalar twin (bits) = reference, backward is the crop`, () => {
    tidy(() => {
      const [N, C, H, W] = shape, [top, bottom, left, right] = pads;
      const out = [N, C, top + H + bottom, left + W + right];
      const x = randomTensor(shape, 3), r = randomTensor(out, 4), prior = randomTensor(shape, 5);
      const y = twins('pad2dForward', out, (o) => [o, x.ptr, N, C, H, W, ...pads], randomTensor(out, 6));
      assertClose(y, padRef(toF64(x), N * C, H, W, pads), { atol: 0, rtol: 0 }, 'pad2d');
      assert.equal(bits(ops.pad2d(x, { top, bottom, left, right })), bits(y));
      const dx = twins('pad2dBackward', shape, (d) => [d, r.ptr, N, C, H, W, ...pads], prior);
      const f = (v: ArrayLike<number>) => padRef(v, N * C, H, W, pads);
      assertClose(dx, adjoint(f, x, r).map((g, i) => g + prior.toFloat32Array()[i]), FD, 'pad2d backward');
    });
  });
}

test('FIR resampling keeps a constant image constant away from the border, and upsampling then downsampling by the adjoint', () => {
  tidy(() => {
    const x = ops.fill(Tensor.zeros([1, 1, 8, 8]), 2);
    const up = ops.firUpsample2x(x).toFloat32Array(), down = ops.firDownsample2x(x).toFloat32Array();
    // Away from the border every output reads only the constant: 2 exactly (the weights are exact in float32).
    assert.is(up[5 * 16 + 7], 2);
    assert.is(down[2 * 4 + 2], 2);
    // At the border the zeros outside count: the corner of the upsampled image is 2 * (3/4)^2 = 1.125.
    assert.is(up[0], 1.125);
  });
});

test('resampling ops reject bad arguments in one line naming the op and the argument', () => {
  tidy(() => {
    const odd = Tensor.zeros([1, 1, 3, 4]);
    assert.throws(() => ops.avgPool2x2(odd), /avgPool2x2: x must have an even height and width, got \[1, 1, 3, 4\]/);
    assert.throws(() => ops.firDownsample2x(Tensor.zeros([2, 4, 4])), /firDownsample2x: x must have rank 4 \[N, C, H, W\], got shape \[2, 4, 4\]/);
    assert.throws(() => ops.firUpsample2xBackward(odd), /firUpsample2xBackward: dy must have an even height and width/);
    assert.throws(() => ops.avgPool2x2Backward(Tensor.zeros([1, 1, 2, 2]), { dx: Tensor.zeros([1, 1, 2, 2]) }), /avgPool2x2Backward: into.dx must have shape \[1, 1, 4, 4\], got \[1, 1, 2, 2\]/);
    assert.throws(() => ops.pad2d(odd, { top: 0, bottom: 1, left: -1, right: 1 }), /pad2d: padding.left must be an integer >= 0, got -1/);
    assert.throws(() => ops.pad2d(odd, { top: 0, bottom: 1, left: 0, right: 1, front: 1 } as never), /pad2d: unknown padding side 'front'/);
    assert.throws(() => ops.pad2dBackward(odd, { top: 2, bottom: 2, left: 0, right: 0 }), /pad2dBackward: dy \[1, 1, 3, 4\] is smaller than the padding/);
  });
});

test.run();
