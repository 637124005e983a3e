/**
 * The runtime and its JavaScript engine, as reports name them: 'Node 20.20.2 (V8 11.3.244.8-node.38)',
 * 'Deno 2.9.6 (V8 15.0.245.2-rusty)', 'Bun 1.4.5 (JavaScriptCore)', or a browser's (or workerd's) user agent.
 */
export function engineName(): string {
  const g = globalThis as { Deno?: { version: { deno: string; v8: string } }; Bun?: { version: string };
    process?: { versions?: { node?: string; v8?: string } }; navigator?: { userAgent?: string } };
  if (g.Deno?.version) return `Deno ${g.Deno.version.deno} (V8 ${g.Deno.version.v8})`;
  if (g.Bun?.version) return `Bun ${g.Bun.version} (JavaScriptCore)`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node} (V8 ${g.process.versions.v8})`;
  return g.navigator?.userAgent ?? 'unknown';
}
