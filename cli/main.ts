#!/usr/bin/env node
/**
 * The `ddpm` command: train diffusion models and sample them, on the CPU.
 *
 *   ddpm train   --data gaussian8 --out runs/ring          train (2-D toys, digits, or a folder of images)
 *   ddpm sample  --model runs/ring/model.safetensors --out ring.png
 *   ddpm interpolate --model mnist --from-seed 1 --to-seed 2 --class 3 --out strip.png   frames between two seeds or pictures
 *   ddpm eval    --model mnist --nll                        the likelihood bound on held-out data, in bits/dim
 *   ddpm distill --model mnist --to-steps 4 --out runs/d    a few-step student (progressive distillation)
 *   ddpm train-classifier --data mnist --out runs/clf      a noise-aware classifier for classifier guidance
 *   ddpm info    runs/ring/model.safetensors                what a model file (or a diffusers folder) holds
 *   ddpm export  --model mnist --format diffusers --out DIR  a U-Net as a diffusers pipeline folder
 *   ddpm bench   [--quick]                                 kernel and training-step benchmarks
 *   ddpm verify                                           the determinism self-test against the shipped golden outputs
 *   ddpm demo                                             the tour `npm start` runs
 *
 * One file per subcommand; they share options.ts (flag parsing), errors.ts (one-line errors), progress.ts and
 * generate.ts (sampling and pictures). `bench` and `verify` need no optional package and parse their own flags
 * (light.ts): they run before commander is involved.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type CommanderError } from 'commander';
import { init } from '../bindings/index.ts';
import { demoCommand } from './demo.ts';
import { distillCommand } from './distill.ts';
import { EXIT, commanderMessage, isCleanExit, reportError } from './errors.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { infoCommand } from './info.ts';
import { interpolateCommand } from './interpolate.ts';
import { LIGHT_COMMANDS, isLightCommand, runLight } from './light.ts';
import { packageRoot } from './options.ts';
import { sampleCommand } from './sample.ts';
import { trainClassifierCommand } from './train-classifier.ts';
import { trainCommand } from './train.ts';

function program(): Command {
  const root = new Command('ddpm')
    .description('Denoising diffusion models (DDPM, DDIM) trained and sampled on the CPU with WebAssembly SIMD')
    .version(packageVersion())
    .showSuggestionAfterError(true)
    .addHelpText('after', `
Examples:
  ddpm train --data gaussian8 --out runs/ring
  ddpm sample --model runs/ring/model.safetensors --out ring.png
  ddpm sample --model mnist --class 7 --num 8 --out sevens.png
  ddpm sample --model mnist --init digit.png --mask mask.png --out completed.png
  ddpm interpolate --model mnist --from-seed 1 --to-seed 2 --class 3 --out threes.png
  ddpm info runs/ring/model.safetensors
  ddpm export --model mnist --format diffusers --out mnist-diffusers

Run 'ddpm <command> --help' for a command's options.`);
  for (const command of [trainCommand(), distillCommand(), sampleCommand(), interpolateCommand(), evalCommand(), trainClassifierCommand(), infoCommand(), exportCommand(), demoCommand()]) {
    root.addCommand(command);
  }
  // Listed in the help only: main() hands them to light.ts before commander parses anything.
  for (const [name, { summary }] of Object.entries(LIGHT_COMMANDS)) root.command(name).description(summary);
  configureErrors(root);
  return root;
}

/** Every command reports commander's parse errors as one line, `ddpm <command>: <message>`, and throws instead of exiting. */
function configureErrors(command: Command): void {
  const known = {
    options: command.options.map((option) => option.long ?? option.short ?? '').filter(Boolean),
    commands: command.commands.map((sub) => sub.name()),
  };
  command.exitOverride().configureOutput({
    outputError: (text) => process.stderr.write(`${commandPath(command)}: ${commanderMessage(text, known)}\n`),
  });
  for (const sub of command.commands) configureErrors(sub);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The version in the package's package.json. */
function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}

async function main(argv: string[]): Promise<number> {
  if (isLightCommand(argv)) return runLight(argv);
  const verbose = argv.includes('--verbose');
  const root = program();
  try {
    // The WebAssembly core starts only when a command runs (not for --help or a flag refused while parsing).
    root.hook('preAction', () => init());
    await root.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (isCleanExit(error)) return 0;
    if ((error as CommanderError).code?.startsWith('commander.')) return (error as CommanderError).exitCode || EXIT.error;
    reportError(`ddpm ${subcommandName(argv)}`.trim(), error, verbose);
    return EXIT.error;
  }
}

/** The subcommand named in argv (for the error prefix). */
function subcommandName(argv: string[]): string {
  return argv.find((arg) => !arg.startsWith('-')) ?? '';
}

// Exit explicitly: a failed run may leave worker threads or timers behind that would keep the process alive.
process.exit(await main(process.argv.slice(2)));
