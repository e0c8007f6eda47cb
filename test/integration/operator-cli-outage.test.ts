/**
 * The operator CLI's `enqueue` and `redrive` while SQS is unreachable: each settles within its
 * `--timeout` with a connection error (exit code 1) that names the endpoint, whether SQS refuses
 * connections, never answers, or answers the lookups and then goes away. Before, a send that kept
 * failing was retried for ever and a request that was never answered held the command for minutes.
 * The tests' own timeout is the guard: they assert no wall-clock bound.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, TaskClient } from '../../src/index.ts';
import { type ActionProxy, type Blocked, startActionProxy } from '../support/action-proxy.ts';
import { testClient } from '../support/pipeline.ts';
import { backendEnv, childEnv } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));
/** What `enqueue` and `redrive` look up before they send: the domain's queues and their tags. */
const LOOKUPS = new Set(['ListQueues', 'ListQueueTags']);

/** Runs `sqspipes <args>` with the test credentials; resolves with its exit code and stderr. */
async function cli(args: readonly string[]): Promise<{ code: number | string; stderr: string }> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end('');
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stderr };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('operator CLI while SQS is unreachable', () => {
  const stages = [
    { method: () => null, name: 'source' },
    { method: (x: unknown) => x, name: 'work' },
  ];
  const client = testClient('opout', stages);
  const domain = client.domain;
  const proxies: ActionProxy[] = [];
  const proxy = async (otherwise: Blocked, pass = LOOKUPS) => {
    const started = await startActionProxy(backendEnv().endpoint, pass, otherwise);
    proxies.push(started);
    return started;
  };

  beforeAll(() => client.createQueues());
  afterAll(() => Promise.all(proxies.map((p) => p.stop())));

  /** Expects a connection error naming `endpoint` as given with --endpoint, and exit code 1. */
  function expectConnectionError(result: { code: number | string; stderr: string }, endpoint: string) {
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`Endpoint: ${endpoint} (from --endpoint)`);
    expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
  }

  it('a port where nothing listens: enqueue and redrive fail with the connection error', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    for (const command of [
      ['enqueue', 'work', '1'],
      ['redrive', 'work'],
    ]) {
      const result = await cli([...command, '--domain', domain, '--endpoint', endpoint]);
      expectConnectionError(result, endpoint);
      expect(result.stderr).toContain(`Cannot connect to SQS while running \`sqspipes ${command[0]}\``);
    }
  });

  it('an endpoint that never answers: enqueue and redrive give up after --timeout', async () => {
    const silent = await proxy('hang', new Set());
    for (const command of [
      ['enqueue', 'work', '1'],
      ['redrive', 'work'],
    ]) {
      const result = await cli([...command, '--domain', domain, '--endpoint', silent.url, '--timeout', '2s']);
      expectConnectionError(result, silent.url);
      expect(result.stderr).toContain('SQS did not answer in time');
      expect(result.stderr).toContain('(ListQueues)');
    }
  });

  it('enqueue: SQS answers the lookups, then refuses the sends: no retry for ever', async () => {
    const away = await proxy('reset');
    const result = await cli([
      'enqueue',
      'work',
      '1',
      '--domain',
      domain,
      '--endpoint',
      away.url,
      '--timeout',
      '3s',
    ]);
    expectConnectionError(result, away.url);
    // Refused at once, or given up while the SDK's own retry of it was on its way.
    const why =
      /(Cannot connect to SQS|SQS did not answer in time) while running `sqspipes enqueue` \(SendMessageBatch/;
    expect(result.stderr).toMatch(why);
    expect(away.blocked['SendMessageBatch']).toBeGreaterThan(0);
  });

  it('enqueue: a send SQS never answers may or may not have arrived, and the error says so', async () => {
    const lost = await proxy('hang');
    const args = ['enqueue', 'work', '1', '--id', 'order-1', '--domain', domain, '--endpoint', lost.url];
    const result = await cli([...args, '--timeout', '2s']);
    expectConnectionError(result, lost.url);
    expect(result.stderr).toContain('SQS did not answer in time');
    expect(result.stderr).toContain('may or may not have accepted them');
    expect(result.stderr).toContain('with the same --id is safe');
  });

  it('redrive: SQS answers the lookups, then never answers a receive: it gives up after --timeout', async () => {
    const lost = await proxy('hang');
    const args = ['redrive', 'work', '--domain', domain, '--endpoint', lost.url, '--timeout', '2s'];
    const result = await cli(args);
    expectConnectionError(result, lost.url);
    expect(result.stderr).toContain('SQS did not answer in time while redriving (ReceiveMessage');
    expect(lost.blocked['ReceiveMessage']).toBeGreaterThan(0);
  });

  it('refuses a --timeout out of its range as a usage error', async () => {
    const result = await cli(['enqueue', 'work', '1', '--domain', domain, '--timeout', '0s']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('--timeout must be a duration from 1s to 1d');
  });

  describe('the library: redrive()', () => {
    /** A client of the same pipeline through `endpoint`. */
    const through = (endpoint: string) => {
      const { region, credentials } = backendEnv();
      const other = new TaskClient({ domain, endpoint, region, credentials, sendTimeout: 2000 });
      return other.registerTasks(stages);
    };

    it('a receive SQS never answers ends the redrive with a ConnectionError after sendTimeout', async () => {
      // The dead-letter queue is found (its URL, its attributes checked), its receive never answered.
      const lost = await proxy('hang', new Set(['GetQueueUrl', 'GetQueueAttributes']));
      const other = through(lost.url);
      try {
        const failure = await other.redrive('work').catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(ConnectionError);
        expect((failure as Error).message).toContain(
          'SQS did not answer in time while redriving (ReceiveMessage',
        );
        expect((failure as Error).message).toContain(lost.url);
      } finally {
        await other.close();
      }
    });

    it('its signal ends it with the signal reason', async () => {
      const lost = await proxy('hang');
      const other = through(lost.url);
      try {
        const controller = new AbortController();
        const redriven = other.redrive('work', { signal: controller.signal });
        const reason = new Error('the operator gave up');
        controller.abort(reason);
        await expect(redriven).rejects.toBe(reason);
      } finally {
        await other.close();
      }
    });
  });
});
