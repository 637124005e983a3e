/**
 * The runtime, its JavaScript engine and the processor architecture, as reports name them:
 * 'Node 20.20.2 (V8 11.3.244.8-node.38, x64)', 'Deno 2.9.6 (V8 15.0.245.2-rusty, aarch64)',
 * 'Bun 1.4.5 (JavaScriptCore, x64)', or a browser's (or workerd's) user agent.
 */
export function engineName(): string {
  const g = globalThis as { Deno?: { version: { deno: string; v8: string }; build?: { arch?: string } }; Bun?: { version: string };
    process?: { versions?: { node?: string; v8?: string }; arch?: string }; navigator?: { userAgent?: string } };
  const arch = g.Deno?.build?.arch ?? g.process?.arch;
  const on = arch ? `, ${arch}` : '';
  if (g.Deno?.version) return `Deno ${g.Deno.version.deno} (V8 ${g.Deno.version.v8}${on})`;
  if (g.Bun?.version) return `Bun ${g.Bun.version} (JavaScriptCore${on})`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node} (V8 ${g.process.versions.v8}${on})`;
  return g.navigator?.userAgent ?? 'unknown';
}
