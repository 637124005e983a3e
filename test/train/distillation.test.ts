// Progressive distillation (train/distillation*.ts): the teacher's target is what one student DDIM step needs to
// land where two teacher steps land; a round trains bit-identically with any number of workers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArrayDataset, DDPMScheduler, DistillationTeacher, DistillationTrainer, init, ops, ProgressiveDistillation, studentGrid, Tensor, tidy, UNet2DModel,
  type PredictionType, type UNet2DConfig,
} from '../../bindings/index.ts';
import { assertClose, seededFloats } from '../helpers.ts';

await init();

const TINY: UNet2DConfig = {
  sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4],
  numHeads: 2, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift',
};
const LABELS = Int32Array.from([0, 1, 2, 1]);

test('the student grid is the trailing spacing, and the teacher\'s holds it at every other point', () => {
  assert.equal(Array.from(studentGrid(1000, 4)), [999, 749, 499, 249, -1]);
  for (const N of [1, 2, 4, 8, 16, 32]) {
    const student = studentGrid(1000, N), teacher = studentGrid(1000, 2 * N);
    assert.equal(Array.from(student), Array.from(teacher).filter((_, i) => i % 2 === 0), `N = ${N}`);
  }
});

/** Two clipped DDIM steps of the teacher for item n, in float64 from its float32 outputs (DDIM eq. 12). */
function referenceTwoSteps(model: UNet2DModel, scheduler: DDPMScheduler, z: Float32Array, path: number[], label: number, guidance: number): Float64Array {
  const prediction = scheduler.config.predictionType;
  const ab = (t: number) => (t < 0 ? 1 : scheduler.alphasCumprod[t]);
  let x = Float64Array.from(z);
  for (let s = 0; s < 2; s++) {
    const [t, next] = [path[s], path[s + 1]];
    const out = tidy(() => {
      const input = Tensor.from(Float32Array.from(x), [1, 1, 8, 8]);
      const cond = model.forward(input, Int32Array.of(t), Int32Array.of(label)).toFloat32Array();
      const uncond = model.forward(input, Int32Array.of(t), Int32Array.of(3)).toFloat32Array();
      return cond.map((c, i) => Math.fround(uncond[i] + Math.fround(guidance * Math.fround(c - uncond[i]))));
    });
    const a = Math.sqrt(ab(t)), sg = Math.sqrt(1 - ab(t)), a2 = Math.sqrt(ab(next)), s2 = Math.sqrt(1 - ab(next));
    x = x.map((xi, i) => {
      const m = out[i];
      const x0 = Math.max(-1, Math.min(1, prediction === 'v_prediction' ? a * xi - sg * m : prediction === 'epsilon' ? (xi - sg * m) / a : m));
      return a2 * x0 + s2 * (xi - a * x0) / sg;
    });
  }
  return x;
}

for (const prediction of ['v_prediction', 'epsilon', 'sample'] as PredictionType[]) {
  test(`${prediction}: one student DDIM step with the target lands where two guided teacher steps land`, () => {
    const model = new UNet2DModel(TINY, 7);
    const scheduler = new DDPMScheduler({ predictionType: prediction });
    const teacher = new DistillationTeacher(model, scheduler, { studentSteps: 4, guidanceScale: 2 });
    tidy(() => {
      const timesteps = Int32Array.from([999, 749, 499, 249]);
      const x0 = Tensor.from(seededFloats(4 * 64, 3).map((v) => 0.9 * v), [4, 1, 8, 8]);
      const zt = scheduler.addNoise(x0, ops.randn([4, 1, 8, 8], { seed: 5 }), timesteps);
      const target = teacher.target({ x: zt, timesteps, labels: LABELS, target: null, firstSample: 0 }).toFloat32Array();
      const z = zt.toFloat32Array();
      const grid = studentGrid(1000, 4), fine = studentGrid(1000, 8);
      timesteps.forEach((t, n) => {
        const k = grid.indexOf(t);
        const ab = scheduler.alphasCumprod[t], next = grid[k + 1], abNext = next < 0 ? 1 : scheduler.alphasCumprod[next];
        const [a, s, a2, s2] = [Math.sqrt(ab), Math.sqrt(1 - ab), Math.sqrt(abNext), Math.sqrt(1 - abNext)];
        const student = Array.from({ length: 64 }, (_, i) => {
          const zi = z[n * 64 + i], m = target[n * 64 + i];
          const x0 = prediction === 'v_prediction' ? a * zi - s * m : prediction === 'epsilon' ? (zi - s * m) / a : m;
          return a2 * x0 + s2 * (zi - a * x0) / s; // no clipping: the target is what the unclipped step needs
        });
        const expected = referenceTwoSteps(model, scheduler, z.subarray(n * 64, (n + 1) * 64), [t, fine[2 * k + 1], next], LABELS[n], 2);
        assertClose(student, expected, { atol: 2e-4, rtol: 2e-4 }, `item ${n} (t = ${t})`);
      });
    });
  });
}

const distill = async (workers: number) => {
  const images = new ArrayDataset('tiny', seededFloats(8 * 64, 4), [1, 8, 8], Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), ['a', 'b', 'c']);
  const teacher = new UNet2DModel(TINY, 1);
  const student = new UNet2DModel(TINY, 1);
  const trainer = new DistillationTrainer({
    model: student, teacher, scheduler: new DDPMScheduler({ predictionType: 'v_prediction' }), dataset: images,
    studentSteps: 2, guidanceScale: 3, batchSize: 6, learningRate: 1e-3, warmupSteps: 1, workers, gradientShards: 4,
  });
  const losses: number[] = [];
  for await (const r of trainer.run({ steps: 3 })) losses.push(r.loss);
  const result = { losses, weights: Array.from(student.params.values.toFloat32Array()), teacherUnchanged: Array.from(teacher.params.values.toFloat32Array()) };
  await trainer.dispose();
  return result;
};

test('a distillation round is bit-identical with 1 and 2 workers, and leaves the teacher as it was', async () => {
  const one = await distill(1);
  assert.ok(one.losses.every((l) => Number.isFinite(l) && l > 0), `losses ${one.losses}`);
  assert.equal(one.teacherUnchanged, Array.from(new UNet2DModel(TINY, 1).params.values.toFloat32Array()));
  assert.not.equal(one.weights, one.teacherUnchanged);
  assert.equal(await distill(2), one);
});

test('distillation lowers its loss: the student learns to match two teacher steps', async () => {
  const images = new ArrayDataset('tiny', seededFloats(16 * 64, 8).map((v) => Math.sign(v) * 0.8), [1, 8, 8], Int32Array.from({ length: 16 }, (_, i) => i % 3), ['a', 'b', 'c']);
  const teacher = new UNet2DModel(TINY, 2);
  const student = new UNet2DModel(TINY, 3); // a different start, so there is something to learn
  const trainer = new DistillationTrainer({
    model: student, teacher, scheduler: new DDPMScheduler({ predictionType: 'v_prediction' }), dataset: images,
    studentSteps: 2, batchSize: 16, learningRate: 3e-3, warmupSteps: 1, gradientShards: 1,
  });
  const losses: number[] = [];
  for await (const r of trainer.run({ steps: 60 })) losses.push(r.loss);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(mean(losses.slice(-10)) < 0.5 * mean(losses.slice(0, 10)), `loss ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`);
  await trainer.dispose();
});

test('progressive distillation: rounds halve the steps, each teacher is the last student\'s EMA, and a state resumes bit for bit', async () => {
  const images = new ArrayDataset('tiny', seededFloats(8 * 64, 4), [1, 8, 8], Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), ['a', 'b', 'c']);
  const scheduler = new DDPMScheduler({ predictionType: 'v_prediction' });
  const options = { fromSteps: 4, toSteps: 1, stepsPerRound: 2, guidanceScale: 2, batchSize: 4, learningRate: 1e-3, warmupSteps: 1, gradientShards: 2 };
  const straight = new ProgressiveDistillation(new UNet2DModel(TINY, 1), scheduler, images, options);
  const reports = [];
  let teacherOfRound1: number[] = [];
  let emaAfterRound0: number[] = [];
  for await (const r of straight.run()) {
    reports.push([r.round, r.studentSteps, r.step, r.totalStep]);
    if (r.round === 0 && r.step === 2) emaAfterRound0 = Array.from(straight.trainer.ema.toFloat32Array());
    if (r.round === 1 && r.step === 1) teacherOfRound1 = Array.from(straight.teacher.params.values.toFloat32Array());
  }
  assert.equal(reports, [[0, 2, 1, 1], [0, 2, 2, 2], [1, 1, 1, 3], [1, 1, 2, 4]]);
  assert.equal(teacherOfRound1, emaAfterRound0);
  assert.ok(straight.done);
  const final = Array.from(straight.studentWeights.toFloat32Array());

  const first = new ProgressiveDistillation(new UNet2DModel(TINY, 1), scheduler, images, options);
  for await (const _ of first.run({ steps: 3 })) { /* into round 1 */ }
  const state = first.encodeState({ scheduler: scheduler.config, data: { name: 'tiny', sampleShape: [1, 8, 8], classNames: ['a', 'b', 'c'] } });
  const resumed = new ProgressiveDistillation(new UNet2DModel(TINY, 1), scheduler, images, options);
  await resumed.restoreState(state, 'state');
  assert.is(resumed.round, 1);
  for await (const _ of resumed.run()) { /* finish */ }
  assert.equal(Array.from(resumed.studentWeights.toFloat32Array()), final);
  const other = new ProgressiveDistillation(new UNet2DModel(TINY, 1), scheduler, images, { ...options, guidanceScale: 3 });
  const error = await other.restoreState(state, 'state').then(() => null, (e: Error) => e);
  assert.match(error?.message ?? 'no error', /state was written with guidanceScale = 2; resuming with guidanceScale = 3/);
  for (const run of [straight, first, resumed, other]) await run.dispose();
  assert.throws(() => new ProgressiveDistillation(new UNet2DModel(TINY, 1), scheduler, images, { toSteps: 4, fromSteps: 12 }), /fromSteps \(12\) must be toSteps \(4\) times a power of 2/);
});

test('bad recipes are refused, naming the option', () => {
  const model = new UNet2DModel(TINY, 1);
  const scheduler = new DDPMScheduler();
  assert.throws(() => new DistillationTeacher(model, scheduler, { studentSteps: 0 }), /studentSteps must be an integer in \[1, 500\] \(numTrainTimesteps 1000\), got 0/);
  assert.throws(() => new DistillationTeacher(model, scheduler, { studentSteps: 501 }), /studentSteps must be an integer in \[1, 500\]/);
  const unconditional = new UNet2DModel({ ...TINY, numClassEmbeds: 0 }, 1);
  assert.throws(() => new DistillationTeacher(unconditional, scheduler, { studentSteps: 2, guidanceScale: 3 }), /guidanceScale 3 needs a class-conditional teacher/);
  const images = new ArrayDataset('tiny', new Float32Array(4 * 64), [1, 8, 8], Int32Array.from([0, 1, 2, 0]), ['a', 'b', 'c']);
  const other = new UNet2DModel({ ...TINY, blockOutChannels: [4, 4] }, 1);
  assert.throws(() => new DistillationTrainer({ model: other, teacher: model, scheduler, dataset: images, studentSteps: 2 }), /the student must have the architecture of its teacher/);
});

test.run();
