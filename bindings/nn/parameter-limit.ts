/**
 * A bound on the models built while a function runs. A model rebuilt from a file's config (values nobody has
 * checked yet) declares its parameters one by one before it allocates them; under a limit, the declaration that
 * would take the model past it throws, so a config asking for a billion-parameter model fails at once, having
 * allocated nothing, instead of after minutes and gigabytes.
 */

interface Limit {
  parameters: number;
  /** The error for a model that would reach `declared` parameters with the parameter `name`. */
  message: (declared: number, name: string) => string;
}

let active: Limit | null = null;

/** Runs `fn` (which builds a model) with models limited to `parameters` parameters. Not reentrant. */
export function withParameterLimit<T>(parameters: number, message: Limit['message'], fn: () => T): T {
  if (active) throw new Error('withParameterLimit: already inside a parameter limit');
  active = { parameters, message };
  try {
    return fn();
  } finally {
    active = null;
  }
}

/** Called by ParameterSet.add with the model's size including the new parameter `name`. */
export function checkParameterLimit(declared: number, name: string): void {
  if (active && declared > active.parameters) throw new Error(active.message(declared, name));
}
