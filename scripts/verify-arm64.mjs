// `npm run verify:arm64`: the determinism scenarios on a second processor architecture, arm64, through the
// harness's arm64 runtime (test/runtimes/arm64.js: the arm64 build of the deno npm package under Debian's
// qemu-user-static), compared with the shipped golden hashes. Fetches that Deno once (npm pack) if it is not
// there; needs `apt-get install qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross`. Exit code 1 on a mismatch.
// With --fetch it only fetches that Deno (CI does so before `npm test`, whose harness then runs arm64 too).
import { arm64Problem, fetchArm64Deno } from '../test/runtimes/arm64.js';
import { ROOT, runHarness } from '../test/runtimes/harness.js';

const fetchOnly = process.argv.includes('--fetch');
const missing = fetchOnly ? null : arm64Problem(ROOT, { needDeno: false });
if (missing) {
  console.error(`verify:arm64: ${missing}`);
  process.exit(1);
}
try {
  fetchArm64Deno(ROOT, (line) => console.log(`verify:arm64: ${line}`));
} catch (error) {
  console.error(`verify:arm64: could not fetch the arm64 Deno: ${error.message.split('\n')[0]}`);
  process.exit(1);
}
if (fetchOnly) process.exit(0);
const summary = await runHarness({ runtimes: ['arm64'], timeoutMs: 600_000 });
process.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
