import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { InputInfo, Logger } from '../../src/index.ts';
import { testClient } from '../support/pipeline.ts';
import { backendEnv, rawClient } from '../support/sqs.ts';

const SECRET = 'sk-test-Zq9vX2-do-not-log';
const BODY_MARKER = 'PRIVATE-BODY-7f3a';

/** A debug-level logger that keeps every record, as pino would serialise it. */
function recordingLogger(): Logger & { text(): string } {
  const lines: string[] = [];
  const record = (level: string) => (obj: object, msg?: string) => {
    lines.push(
      JSON.stringify({ level, msg, ...obj }, (_key, value: unknown) =>
        value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
      ),
    );
  };
  return {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    text: () => lines.join('\n'),
  };
}

describe('observability', () => {
  const logger = recordingLogger();
  process.env['SQSPIPES_FAKE_SECRET'] = SECRET;
  let failNext = true;
  const { region, endpoint } = backendEnv();
  const client = testClient(
    'observe',
    [
      { method: () => null, name: 'source' },
      {
        method: (x: { secret: string; n: number }) => {
          if (x.n === 2 && failNext) {
            failNext = false;
            throw new Error('transient failure');
          }
          if (x.n === 3) throw new Error('always fails');
          return x.n;
        },
        name: 'work',
        retries: 1,
        retryDelay: 0,
      },
    ],
    { logger, endpoint, region, credentials: { accessKeyId: 'AKIATESTNOTREAL', secretAccessKey: SECRET } },
  );

  it('emits events, counts them, and logs neither credentials nor message bodies', async () => {
    const seen: Record<string, InputInfo[]> = { processed: [], failed: [], retried: [], deadLettered: [] };
    let idle = 0;
    client.on('processed', (info) => seen['processed']?.push(info));
    client.on('failed', (_e, info) => seen['failed']?.push(info));
    client.on('retried', (info) => seen['retried']?.push(info));
    client.on('deadLettered', (info) => seen['deadLettered']?.push(info));
    client.on('idle', () => idle++);

    for (const n of [1, 2, 3]) await client.enqueue('work', { secret: BODY_MARKER, n });
    const url = (await client.queues()).find((q) => q.level === 0)?.url ?? '';
    const raw = rawClient();
    await raw.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: `not json ${BODY_MARKER}`,
        MessageGroupId: 'p',
        MessageDeduplicationId: 'p',
      }),
    );
    raw.destroy();

    const dead = new Promise<void>((resolve) => {
      let n = 0;
      client.on('deadLettered', () => ++n === 2 && resolve());
    });
    const out: unknown[] = [];
    for await (const value of client.run('work', { idleTimeout: 4000 })) out.push(value);
    await dead;

    expect(out.sort()).toEqual([1, 2]);
    expect(seen['processed']?.map((i) => i.stage)).toEqual(['work', 'work']);
    expect(seen['failed']?.length).toBe(3); // n=2 once, n=3 twice
    expect(seen['retried']?.length).toBe(2);
    expect(seen['deadLettered']?.length).toBe(2); // n=3 after 2 attempts, and the poison message
    expect(idle).toBeGreaterThan(0);
    const stats = client.stats();
    expect(stats).toMatchObject({
      processed: 2,
      outputs: 2,
      failed: 3,
      retried: 2,
      deadLettered: 2,
      inHand: 0,
    });
    expect(stats.requests['SendMessageBatch']).toBeGreaterThan(0);
    expect(stats.requests['ReceiveMessage']).toBeGreaterThan(0);

    const logs = logger.text();
    expect(logs).toContain('message moved to the dead-letter queue');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain('AKIATESTNOTREAL');
    expect(logs).not.toContain(BODY_MARKER);
    for (const [name, value] of Object.entries(process.env)) {
      if (/SECRET|TOKEN|PASSWORD|KEY/i.test(name) && value !== undefined && value.length >= 8) {
        expect(logs, `the value of ${name} appears in the logs`).not.toContain(value);
      }
    }
  });
});
