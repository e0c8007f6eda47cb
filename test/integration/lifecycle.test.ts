/**
 * A run's life at its edges: a stop leaves no receive behind, `close()` stops runs and waits for
 * them, a failed setup can be retried, a re-enqueued input is not taken for a done one, and a
 * timed-out call keeps its worker. Each test failed on the engine before the rewrite.
 */
import { once } from 'node:events';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { enqueueId } from '../../src/ids.ts';
import { STOP_RECEIVES } from '../../src/worker/stop-clock.ts';
import { TaskClient } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, deleteQueuesWithPrefix, queueExists, rawClient, uniquePrefix } from '../support/sqs.ts';

const source = { method: () => null, name: 'source' };
const echo = (x: unknown) => x;

describe('a stop leaves no receive behind', () => {
  // The default visibility timeout (30 s): a message taken by a receive of a stopped run would
  // stay hidden far longer than the next run waits for it.
  const stages = [source, { method: echo, name: 'step' }];
  const client = testClient('noreceive', stages);

  it('an input enqueued right after a process stopped idle goes to the next process at once', async () => {
    const { endpoint, region, credentials } = backendEnv();
    for (let round = 0; round < 2; round++) {
      const before = new TaskClient({ domain: client.domain, endpoint, region, credentials });
      before.registerTasks(stages);
      const started = Date.now();
      expect(await collect(before.run('step', { idleTimeout: 1000 }))).toEqual([]);
      // The idle long poll was sized to end with the idle timeout: the stop is quick.
      expect(Date.now() - started).toBeLessThan(15_000); // not a 20 s long poll
      await before.close(); // the process exits
      await client.enqueue('step', `after stop ${round}`);
      const after = new TaskClient({ domain: client.domain, endpoint, region, credentials });
      after.registerTasks(stages);
      expect(await collect(after.run('step', { limit: 1, idleTimeout: 5000 }))).toEqual([
        `after stop ${round}`,
      ]);
      await after.close();
    }
  });
});

describe('destroy()', () => {
  it("stops this client's runs without waiting for their last receives, then deletes the queues", async () => {
    const said: string[] = [];
    const logger = { debug() {}, info: (_: object, msg: string) => said.push(msg), warn() {}, error() {} };
    const client = testClient('destroy', [source, { method: echo, name: 'step' }], { logger });
    await client.enqueue('step', 'one');
    const first = new Promise<void>((resolve) => client.once('processed', () => resolve()));
    const run = collect(client.run('step')); // no limit, no idle timeout
    await first; // the level is busy now: its next receive waits up to 2 s
    await client.destroy();
    expect(await run).toEqual(['one']);
    // A stop that waits a second for its receives says so (STOP_RECEIVES): this one did not wait.
    expect(said).not.toContain(STOP_RECEIVES);
    expect((await client.queues()).filter((q) => q.exists)).toEqual([]);
  });
});

describe('close()', () => {
  const client = testClient('close', [source, { method: echo, name: 'step' }]);

  it('stops the active runs gracefully and resolves once they are done', async () => {
    await client.enqueue('step', 'one');
    const out: unknown[] = [];
    const first = new Promise<void>((resolve) => client.once('processed', () => resolve()));
    const run = (async () => {
      for await (const value of client.run('step')) out.push(value); // no limit, no idle timeout
    })();
    await first;
    await client.close();
    await run;
    expect(out).toEqual(['one']);
    expect(client.stats().inHand).toBe(0);
  });
});

describe('close() while a run is starting', () => {
  it('runs no setup without its teardown, for a stage and for the source', async () => {
    const hooks = { setups: 0, teardowns: 0 };
    const counted = { setup: () => void hooks.setups++, teardown: () => void hooks.teardowns++ };
    const raw = rawClient();
    for (const stage of ['step', 'source']) {
      // A new domain: the run creates its queues and waits a second after that (the settle time
      // of an endpoint), which is when close() comes.
      const client = new TaskClient({ domain: uniquePrefix('closestart'), ...backendEnv() });
      client.registerTasks([
        { method: () => [1, 2], name: 'source', ...counted },
        { method: echo, name: 'step', ...counted },
      ]);
      const run = collect(client.run(stage, { idleTimeout: 60_000 })).catch(() => []);
      const queue = `${client.domain}-step-p0.fifo`;
      while (!(await queueExists(raw, queue))) await new Promise((resolve) => setImmediate(resolve));
      await client.close();
      await run;
      expect(hooks.teardowns).toBe(hooks.setups);
      await deleteQueuesWithPrefix(raw, client.domain);
    }
    raw.destroy();
  });
});

describe('a source with no interval that finds nothing', () => {
  const client = testClient('idlesource', [
    { method: () => null, name: 'source' },
    { method: echo, name: 'step' },
  ]);

  it('leaves the process its timers and I/O: its run ends on its signal', async () => {
    // Before: every call returned at once, the next came in the same turn, and no timer ever fired.
    expect(await collect(client.run('source', { signal: AbortSignal.timeout(200) }))).toEqual([]);
  });
});

describe('setup', () => {
  let setups = 0;
  const client = testClient('setup', [
    source,
    {
      method: echo,
      name: 'step',
      setup: () => {
        setups++;
        if (setups === 1) throw new Error('database not ready');
        return 'ready';
      },
    },
  ]);

  it('a failed setup is tried again by the next run', async () => {
    await expect(collect(client.run('step', { idleTimeout: 1000 }))).rejects.toThrow('database not ready');
    await client.enqueue('step', 'x');
    expect(await collect(client.run('step', { limit: 1, idleTimeout: 3000 }))).toEqual(['x']);
    expect(setups).toBe(2);
  });
});

describe('a run left by its consumer while another run of the stage goes on', () => {
  const hooks = { setups: 0, teardowns: 0 };
  const client = testClient(
    'twice',
    [
      source,
      {
        method: echo,
        name: 'step',
        setup: () => ++hooks.setups,
        teardown: () => void hooks.teardowns++,
      },
    ],
    { pollWaitSeconds: 1 },
  );

  // Regression: stop() started the shutdown twice when the stop request called stop() again, so
  // the stage's teardown ran once per stopped run plus once more, under the run still going.
  it('shuts down once: the teardown waits for the last run of the stage', async () => {
    const a = client.run('step')[Symbol.asyncIterator]();
    const first = a.next();
    await client.enqueue('step', 'a');
    expect((await first).value).toBe('a'); // run A holds its input until asked for the next value
    const stopB = new AbortController();
    const bIdle = once(client, 'idle'); // run B polls: A is not idle while its input is in hand
    const b = collect(client.run('step', { signal: stopB.signal }));
    await bIdle;
    await a.return(); // run A stops as when its consumer leaves the loop
    expect(hooks.teardowns).toBe(0); // run B still uses the stage's state
    stopB.abort();
    await b;
    expect(hooks).toEqual({ setups: 1, teardowns: 1 });
  });
});

describe('an input sent again with the id of one already done in this run', () => {
  const client = testClient('reused', [source, { method: echo, name: 'step' }]);

  it('is run again, not taken for a lost delete of the first', async () => {
    await client.enqueue('step', 'again', { id: 'order-7' });
    const url = (await client.queues()).find((q) => q.level === 0)?.url;
    const out: unknown[] = [];
    const raw = rawClient();
    for await (const value of client.run('step', { idleTimeout: 3000 })) {
      out.push(value);
      if (out.length === 1) {
        // The same envelope (same sqspipes id), as if enqueued again past SQS's 5-minute window.
        const body = JSON.stringify({ v: 1, id: enqueueId('order-7'), p: 0, d: 'again' });
        await raw.send(
          new SendMessageCommand({
            QueueUrl: url,
            MessageBody: body,
            MessageGroupId: 'g',
            MessageDeduplicationId: 'later',
          }),
        );
      }
      if (out.length === 2) break;
    }
    raw.destroy();
    expect(out).toEqual(['again', 'again']);
  });
});

describe('a call past its timeout', () => {
  let running = 0;
  let most = 0;
  const slow = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 600)); // ignores its signal
    running--;
    return 'late';
  };
  const client = testClient('timeout', [
    source,
    { method: slow, name: 'step', timeout: 100, retries: 1, retryDelay: 0, workers: 1 },
  ]);

  it('keeps its worker until it returns: never two calls at once with one worker, retry included', async () => {
    await Promise.all([client.enqueue('step', 1), client.enqueue('step', 2)]);
    const dead = new Promise<void>((resolve) => {
      let n = 0;
      client.on('deadLettered', () => ++n === 2 && resolve());
    });
    const run = collect(client.run('step', { idleTimeout: 1500 }));
    await dead;
    expect(await run).toEqual([]);
    expect(most).toBe(1);
  });
});
