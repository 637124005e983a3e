// The import rules of the library (docs/architecture.md), checked by test/architecture.test.ts (part of `npm test`):
// no cycles, and every arrow between the parts of bindings/ points down the layers. Type-only imports count.
const part = (name) => `^bindings/${name}/`;
const file = (name) => `^bindings/${name}\\.ts$`;

/** What each part of the library may import besides itself. */
const allowed = {
  core: [],
  tensor: [part('core')],
  'random-streams': [],
  ops: [part('core'), file('tensor')],
  io: [part('ops'), part('core'), file('tensor')],
  nn: [part('ops'), part('core'), part('io'), file('tensor'), file('random-streams')],
  schedulers: [part('ops'), part('core'), file('tensor'), file('random-streams')],
  data: [part('ops'), part('core'), part('io'), file('tensor'), file('random-streams')],
  models: [part('nn'), part('ops'), part('core'), part('io'), part('data'), part('schedulers'), file('tensor'), file('random-streams')],
  train: [part('models'), part('nn'), part('ops'), part('core'), part('io'), part('data'), part('schedulers'), file('tensor'), file('random-streams')],
  interop: [part('models'), part('nn'), part('schedulers'), part('io'), part('ops'), part('core'), file('tensor')],
  pipelines: [part('models'), part('nn'), part('ops'), part('core'), part('schedulers'), file('tensor'), file('random-streams')],
  likelihood: [part('models'), part('ops'), part('core'), part('schedulers'), part('data'), file('tensor'), file('random-streams')],
  // The self-test runs its scenarios through the public API alone: the main entry (library.ts).
  verify: [file('index')],
};

const layerRules = Object.entries(allowed).map(([name, targets]) => {
  const from = name.includes('-') || name === 'tensor' ? file(name) : part(name);
  const own = from;
  return {
    name: `layers-${name}`,
    comment: `bindings/${name} may import only ${targets.length ? targets.join(', ') : 'itself'} (docs/architecture.md)`,
    severity: 'error',
    from: { path: from },
    to: { path: '^bindings/', pathNot: [own, ...targets] },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      // One cycle is deliberate: bindings/verify/library.ts re-exports the main entry for the self-test's
      // scenarios, and nothing in it runs while the modules load (see that file).
      comment: 'an import cycle',
      severity: 'error',
      from: { path: '^(bindings|cli|test/fixtures/import-cycle)/' },
      to: { circular: true, viaOnly: { pathNot: '^bindings/verify/library\\.ts$' } },
    },
    {
      name: 'library-stays-below',
      comment: 'the library never imports its command, page, evaluation, benchmarks, scripts or tests',
      severity: 'error',
      from: { path: '^bindings/' },
      to: { path: '^(cli|web|evaluation|bench|scripts|test|examples)/' },
    },
    ...layerRules,
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|build)/' },
  },
};
