// The worker channel (bindings/core/platform-worker.ts) in Node: messages both ways in order, a worker's exception
// and a worker that stops without a word both come back as its next message, instead of a wait for ever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnWorker } from '../../bindings/core/platform-worker.ts';

type Reply = { ok: unknown } | { error: string };
const onError = (message: string): Reply => ({ error: message });
const evalWorker = (source: string) => new URL(`data:text/javascript,${encodeURIComponent(source)}`);

test('replies arrive in order; an exception in the worker is its next message', async () => {
  const channel = await spawnWorker<number, Reply>(evalWorker(`
    import { parentPort } from 'node:worker_threads';
    parentPort.on('message', (n) => { if (n < 0) throw new Error('negative ' + n); parentPort.postMessage({ ok: 2 * n }); });`), false, onError);
  try {
    for (const n of [1, 2, 3]) channel.post(n);
    assert.equal([await channel.next(), await channel.next(), await channel.next()], [{ ok: 2 }, { ok: 4 }, { ok: 6 }]);
    channel.post(-1);
    assert.equal(await channel.next(), { error: 'negative -1' });
    // The exception ended the worker: its exit follows.
    assert.equal(await channel.next(), { error: 'the worker stopped (exit code 1)' });
  } finally {
    channel.terminate();
  }
});

test('a worker that stops on its own is reported, with its exit code', async () => {
  const channel = await spawnWorker<string, Reply>(evalWorker(`
    import { parentPort } from 'node:worker_threads';
    parentPort.on('message', () => process.exit(3));`), false, onError);
  channel.post('stop');
  assert.equal(await channel.next(), { error: 'the worker stopped (exit code 3)' });
  channel.terminate();
});

test.run();
