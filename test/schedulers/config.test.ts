// fromConfig (diffusers' from_config) on every scheduler, and the table of known options: a stored config may
// hold options of another scheduler (ignored), an unknown key is an error naming the nearest known one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMInverseScheduler, DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
  HeunDiscreteScheduler, init, KNOWN_OPTIONS, RePaintScheduler, ScoreSdeODEScheduler, ScoreSdePCScheduler, UniPCMultistepScheduler,
} from '../../bindings/index.ts';

await init();

const CLASSES = [DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler, EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler, HeunDiscreteScheduler, ScoreSdePCScheduler, ScoreSdeODEScheduler, RePaintScheduler, DDIMInverseScheduler] as const;

test('KNOWN_OPTIONS is exactly the union of the options of the schedulers, and each config has them all', () => {
  const union = new Set(CLASSES.flatMap((C) => Object.keys(C.defaults)));
  assert.equal([...union].sort(), [...KNOWN_OPTIONS].sort());
  for (const C of CLASSES) assert.equal(Object.keys(new C().config).sort(), Object.keys(C.defaults).sort(), C.name);
});

test('fromConfig keeps its own options, ignores other schedulers\' ones, and fills in its defaults', () => {
  const stored = { numTrainTimesteps: 500, betaSchedule: 'scaled_linear', predictionType: 'v_prediction', clipSample: true, setAlphaToOne: false, varianceType: 'fixed_large', solverOrder: 3 };
  const ddpm = DDPMScheduler.fromConfig(stored);
  assert.instance(ddpm, DDPMScheduler);
  assert.is(ddpm.config.varianceType, 'fixed_large');
  assert.is(ddpm.config.numTrainTimesteps, 500);
  assert.ok(!('setAlphaToOne' in ddpm.config));
  assert.is(DDIMScheduler.fromConfig(stored).config.setAlphaToOne, false);
  const dpm = DPMSolverMultistepScheduler.fromConfig(stored, { useKarrasSigmas: true });
  assert.instance(dpm, DPMSolverMultistepScheduler);
  assert.equal([dpm.config.solverOrder, dpm.config.useKarrasSigmas, dpm.config.timestepSpacing, dpm.config.predictionType], [3, true, 'linspace', 'v_prediction']);
  assert.ok(!('clipSample' in dpm.config));
  assert.equal(dpm.alphasCumprod, new DDPMScheduler({ numTrainTimesteps: 500, betaSchedule: 'scaled_linear' }).alphasCumprod);
  // Missing options take the class's defaults (diffusers'): Heun's betas differ from the others'.
  assert.equal([HeunDiscreteScheduler.fromConfig({}).config.betaStart, HeunDiscreteScheduler.fromConfig({}).config.betaEnd], [0.00085, 0.012]);
  for (const C of CLASSES) assert.instance((C as unknown as typeof DDPMScheduler).fromConfig(new DDPMScheduler().config), C);
});

test('fromConfig: unknown keys name the nearest known one; overrides must be this scheduler\'s options', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => DDPMScheduler.fromConfig({ numTrainTimestep: 1000 }), /^DDPMScheduler.fromConfig: unknown scheduler option 'numTrainTimestep'; did you mean 'numTrainTimesteps'\?$/],
    [() => EulerDiscreteScheduler.fromConfig({ use_karras_sigmas: true }), /unknown scheduler option 'use_karras_sigmas'; did you mean 'useKarrasSigmas'\?/],
    [() => DDIMScheduler.fromConfig({ predictiontype: 'epsilon' }), /did you mean 'predictionType'\?/],
    [() => UniPCMultistepScheduler.fromConfig({}, { solverOrdr: 2 }), /UniPCMultistepScheduler.fromConfig: unknown option 'solverOrdr' in overrides; did you mean 'solverOrder'\?/],
    [() => UniPCMultistepScheduler.fromConfig({}, { setAlphaToOne: true }), /unknown option 'setAlphaToOne' in overrides; it is not an option of UniPCMultistepScheduler/],
    [() => DDPMScheduler.fromConfig(null as never), /DDPMScheduler.fromConfig: config must be an object, got null/],
    [() => DDPMScheduler.fromConfig({ numTrainTimesteps: -1 }), /DDPMScheduler: numTrainTimesteps must be an integer in \[1, 131072\], got -1/],
  ];
  for (const [call, message] of cases) assert.throws(call, message);
});

test('bad options of the new schedulers name the option, the value and what is allowed', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => new DPMSolverMultistepScheduler({ solverOrder: 4 }), /DPMSolverMultistepScheduler: solverOrder must be 1, 2 or 3, got 4/],
    [() => new DPMSolverMultistepScheduler({ algorithmType: 'deis' as never }), /algorithmType must be one of 'dpmsolver\+\+', 'dpmsolver', 'sde-dpmsolver\+\+', got 'deis'/],
    [() => new DPMSolverMultistepScheduler({ algorithmType: 'dpmsolver' }), /finalSigmasType 'zero' is not supported for algorithmType 'dpmsolver'.*use 'sigma_min'/],
    [() => new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++', solverOrder: 3 }), /solverOrder 3 is not available for algorithmType 'sde-dpmsolver\+\+'/],
    [() => new DPMSolverMultistepScheduler({ finalSigmasType: 'none' as never }), /finalSigmasType must be one of 'zero', 'sigma_min', got 'none'/],
    [() => new DPMSolverMultistepScheduler({ solverType: 'bh2' as never }), /solverType must be one of 'midpoint', 'heun', got 'bh2'/],
    [() => new UniPCMultistepScheduler({ solverType: 'midpoint' as never }), /UniPCMultistepScheduler: solverType must be one of 'bh1', 'bh2', got 'midpoint'/],
    [() => new UniPCMultistepScheduler({ disableCorrector: [1.5] }), /disableCorrector must be an array of step indices/],
    [() => new EulerDiscreteScheduler({ useKarrasSigmas: 1 as never }), /EulerDiscreteScheduler: useKarrasSigmas must be true or false, got 1/],
    [() => new DDPMScheduler({ dynamicThresholdingRatio: 1.5 }), /DDPMScheduler: dynamicThresholdingRatio must be a number in \[0, 1\], got 1.5/],
    [() => new DDIMScheduler({ sampleMaxValue: 0 }), /DDIMScheduler: sampleMaxValue must be a finite positive number, got 0/],
    [() => new HeunDiscreteScheduler({ rescaleBetasZeroSnr: true } as never), /HeunDiscreteScheduler: unknown option 'rescaleBetasZeroSnr'/],
    [() => new EulerAncestralDiscreteScheduler({ clipSample: true } as never), /EulerAncestralDiscreteScheduler: unknown option 'clipSample'/],
  ];
  for (const [call, message] of cases) assert.throws(call, message);
});

test.run();
