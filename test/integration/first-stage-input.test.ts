/**
 * A pipeline may start with a consuming stage (`input: true`): no dummy source. `enqueue()` and
 * `submit()` feed it (submit() by default), a failed input goes to its dead-letter queue, and the
 * results arrive. Failed before: the first stage was always a source, without an input queue.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ItemError } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { childEnv } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));

/** Runs `sqspipes <args>` against the backend; resolves with its stdout once it succeeded. */
async function sqspipes(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code, `sqspipes ${args.join(' ')}\n${stderr}`).toBe(0);
  return stdout;
}

const double = (x: unknown) => {
  if (typeof x !== 'number') throw new Error(`not a number: ${JSON.stringify(x)}`);
  return x * 2;
};
const inc = (x: unknown) => (x as number) + 1;

describe('a first stage with `input: true`', () => {
  const stages = [
    { method: double, name: 'double', input: true, retries: 0 },
    { method: inc, name: 'inc' },
  ];
  const client = testClient('firstinput', stages);

  it('is fed by enqueue() and submit() (its default), dead-letters, and its results arrive', async () => {
    const stop = new AbortController();
    const first = collect(client.run('double', { signal: stop.signal }));
    const last = collect(client.run('inc', { limit: 2 }));
    await client.enqueue('double', 10);
    const submitted = await client.submit(3);
    expect(await submitted.result()).toEqual([7]);
    const bad = await client.submit('x');
    const failure = await bad.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ItemError);
    expect((failure as ItemError).end).toBe('dead-lettered');
    expect((failure as ItemError).stage).toBe('double');
    expect((await last).sort()).toEqual([21, 7]);
    stop.abort();
    expect((await first).sort()).toEqual([20, 6]);
    const dlq = (await client.queues()).find((q) => q.stage === 'double' && q.level === 'dlq');
    expect(dlq?.exists).toBe(true);
    expect((dlq?.visible ?? 0) + (dlq?.inFlight ?? 0)).toBe(1);
  });

  // Queues of its own: the queue of a run that just stopped may still be long-polled by SQS for
  // the run's abandoned receive, which hides what comes next for 2 s (IDLE_LEASE_SECONDS), from a
  // peek too (an ElasticMQ CI run peeked nothing).
  const cli = testClient('firstinputcli', stages);

  it('is a stage with queues for the operator CLI: status, enqueue, peek', async () => {
    const client = cli;
    await client.createQueues();
    const domain = ['--domain', client.domain];
    await sqspipes(['enqueue', 'double', '21', ...domain]);
    const peeked = JSON.parse(await sqspipes(['peek', 'double', '--json', ...domain])) as {
      value: unknown;
    }[];
    expect(peeked.map((p) => p.value)).toEqual([21]);
    const rows = JSON.parse(await sqspipes(['status', '--json', ...domain])) as {
      stage: string;
      level: unknown;
    }[];
    expect(rows.filter((r) => r.stage === 'double').map((r) => r.level)).toEqual([0, 'dlq']);
    expect(await collect(client.run('double', { limit: 1 }))).toEqual([42]);
  });
});
