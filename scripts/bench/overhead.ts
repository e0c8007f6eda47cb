/**
 * sqspipes' own CPU per message, the AWS SDK and the network left out:
 *   node scripts/bench/overhead.ts [--messages 50000] [--workers 4] [--rounds 3] [--profile DIR]
 *
 * The three stages of the benchmark (src → relay → sink, trivial functions) run one after another
 * in this process, over an in-memory FIFO stand-in answering every SQS command at the SDK's first
 * middleware step (nothing is serialised, signed or sent): the source fills the relay's queue, the
 * relay drains it into the sink's, the sink drains that. Each stage's CPU time (user + system)
 * per message is what sqspipes itself costs, so that a change to the engine can be measured in
 * seconds and without the noise of an emulator sharing the cores. A first round warms up, uncounted. Not a test of SQS semantics:
 * the stand-in has no visibility timeouts, groups or deduplication.
 * --profile DIR: writes a V8 CPU profile of each stage's run there (node:inspector).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TaskClient } from 'sqspipes';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string' },
  },
});
const messages = Number(values.messages);
const workers = Number(values.workers);
const rounds = Number(values.rounds);

interface Stored {
  readonly body: string;
  readonly id: string;
  readonly groupId: string;
}

/** FIFO queues by URL: sends append, receives take from the front (waiting a little when empty). */
class MemoryQueues {
  readonly #queues = new Map<string, Stored[]>();
  /** Index of the first message not yet received, by URL. */
  readonly #heads = new Map<string, number>();
  #seq = 0;

  answer(name: string, input: Record<string, unknown>): unknown {
    switch (name) {
      case 'GetQueueUrlCommand':
      case 'CreateQueueCommand': {
        const url = `http://memory/000000000000/${String(input['QueueName'])}`;
        if (!this.#queues.has(url)) this.#queues.set(url, []);
        return { QueueUrl: url };
      }
      case 'GetQueueAttributesCommand':
        return { Attributes: { QueueArn: `arn:aws:sqs:us-east-1:000000000000:${this.#name(input)}` } };
      case 'SendMessageBatchCommand': {
        const queue = this.#queue(input);
        const entries = input['Entries'] as { Id: string; MessageBody: string; MessageGroupId: string }[];
        const Successful = entries.map((e) => {
          const id = `m${++this.#seq}`;
          queue.push({ body: e.MessageBody, id, groupId: e.MessageGroupId });
          return { Id: e.Id, MessageId: id, MD5OfMessageBody: '' };
        });
        return { Successful, Failed: [] };
      }
      case 'ReceiveMessageCommand': {
        const queue = this.#queue(input);
        const url = String(input['QueueUrl']);
        const head = this.#heads.get(url) ?? 0;
        const taken = queue.slice(head, head + Number(input['MaxNumberOfMessages'] ?? 1));
        this.#heads.set(url, head + taken.length);
        const now = String(Date.now());
        return {
          Messages: taken.map((m) => ({
            MessageId: m.id,
            ReceiptHandle: `rh-${m.id}`,
            Body: m.body,
            Attributes: { ApproximateReceiveCount: '1', MessageGroupId: m.groupId, SentTimestamp: now },
          })),
        };
      }
      case 'DeleteMessageBatchCommand':
      case 'ChangeMessageVisibilityBatchCommand': {
        const entries = input['Entries'] as { Id: string }[];
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      default:
        return {};
    }
  }

  depth(url: string): number {
    return (this.#queues.get(url)?.length ?? 0) - (this.#heads.get(url) ?? 0);
  }

  #name(input: Record<string, unknown>): string {
    const url = String(input['QueueUrl']);
    return url.slice(url.lastIndexOf('/') + 1);
  }

  #queue(input: Record<string, unknown>): Stored[] {
    const url = String(input['QueueUrl']);
    let queue = this.#queues.get(url);
    if (queue === undefined) this.#queues.set(url, (queue = []));
    return queue;
  }
}

function memoryClient(queues: MemoryQueues): SQSClient {
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: 'http://memory',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  sqs.middlewareStack.add(
    () => async (args) => {
      const input = args.input as Record<string, unknown>;
      const command = commandName(input);
      // An empty long poll answers after a short wait, as a queue with nothing in it would.
      if (command === 'ReceiveMessageCommand' && queues.depth(String(input['QueueUrl'])) === 0)
        await new Promise((resolve) => setTimeout(resolve, 20));
      return { output: { $metadata: {}, ...(queues.answer(command, input) as object) }, response: {} };
    },
    { step: 'initialize', name: 'memorySqs', priority: 'high' },
  );
  return sqs;
}

/** The command, from the shape of its input (the middleware does not see the class). */
function commandName(input: Record<string, unknown>): string {
  if ('MaxNumberOfMessages' in input) return 'ReceiveMessageCommand';
  if ('AttributeNames' in input) return 'GetQueueAttributesCommand';
  if ('QueueName' in input) return 'Attributes' in input ? 'CreateQueueCommand' : 'GetQueueUrlCommand';
  const entries = input['Entries'] as Record<string, unknown>[] | undefined;
  const first = entries?.[0] ?? {};
  if ('MessageBody' in first) return 'SendMessageBatchCommand';
  if ('VisibilityTimeout' in first) return 'ChangeMessageVisibilityBatchCommand';
  if ('ReceiptHandle' in first) return 'DeleteMessageBatchCommand';
  return 'unknown';
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function timed(label: string, round: number, run: () => Promise<number>): Promise<number> {
  const session = values.profile === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const before = cpuMs();
  const count = await run();
  const used = cpuMs() - before;
  if (session !== undefined && values.profile !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(values.profile, { recursive: true });
    writeFileSync(join(values.profile, `${label}-r${round}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  if (count !== messages) throw new Error(`${label}: ${count} of ${messages} messages`);
  return (used / count) * 1000;
}

const results: Record<'src' | 'relay' | 'sink', number[]> = { src: [], relay: [], sink: [] };
// Round 0 warms the code up (V8 optimises the hot paths) and is not counted.
for (let round = 0; round <= rounds; round++) {
  const queues = new MemoryQueues();
  const client = new TaskClient({ domain: `overhead${round}`, sqs: memoryClient(queues) });
  client.registerTasks([
    { method: () => Date.now(), name: 'src' },
    { method: (stamp: number) => stamp, name: 'relay' },
    { method: (stamp: number) => stamp, name: 'sink' },
  ]);
  for (const stage of ['src', 'relay', 'sink'] as const) {
    const us = await timed(stage, round, async () => {
      let count = 0;
      for await (const _ of client.run(stage, { workers, limit: messages, idleTimeout: 200 })) count++;
      return count;
    });
    if (round > 0) results[stage].push(us);
  }
  await client.close();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `sqspipes CPU per message (µs), SDK and network left out; ${messages} messages, ${workers} workers, ${rounds} rounds`,
);
for (const [stage, us] of Object.entries(results)) {
  console.log(
    `${stage.padEnd(6)} mean ${mean(us).toFixed(1).padStart(6)}  rounds ${us.map((u) => u.toFixed(1)).join(' / ')}`,
  );
}
console.log(
  `total  mean ${(mean(results.src) + mean(results.relay) + mean(results.sink)).toFixed(1).padStart(6)}`,
);
