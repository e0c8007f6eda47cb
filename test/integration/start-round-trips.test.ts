/**
 * The round trips a start spends on its queues before its first receive or send (issue 27):
 * queues that exist and match are found and checked in two steps (GetQueueUrl, then
 * GetQueueAttributes, every queue at once), one request per queue each, and a consuming stage's
 * first receives go out beside the checks; a new domain's queues are created at once, a
 * dead-letter queue before the inputs that redrive to it. Steps are counted, not timed: each
 * request is held until those sent before it were answered (lock step).
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type StageEntry, TaskClient } from '../../src/index.ts';
import { SETTLE_MS_OPTION } from '../../src/queues/provisioner.ts';
import { collect } from '../support/pipeline.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const stages: StageEntry[] = [
  { name: 'source', method: () => 1 },
  { name: 'relay', method: (x: unknown) => x },
  { name: 'sink', method: (x: unknown) => x },
];

/** A request held by the lock step: its action, and what lets it go. */
interface Held {
  readonly action: string;
  readonly go: () => void;
}

/**
 * Makes `sqs` send its requests in steps: the requests made while none is in flight go together,
 * once no other came for a moment; those made meanwhile wait for the next step. Stops holding at
 * the first request of an action in `until`, and resolves `reached` with the steps before it.
 */
function lockStep(sqs: SQSClient, until: readonly string[]) {
  const steps: string[][] = [];
  let held: Held[] = [];
  let inFlight = 0;
  let open = false;
  let timer: NodeJS.Timeout | undefined;
  /** Requests held when the first of `until` came: those it went out beside. */
  const beside: string[] = [];
  let reach: (steps: string[][]) => void = () => {};
  const reached = new Promise<string[][]>((resolve) => (reach = resolve));
  // A request made in answer to another one comes within microtasks; 50 ms leaves room for a busy machine.
  const release = () => {
    timer = undefined;
    if (inFlight > 0 || held.length === 0) return;
    const step = held;
    held = [];
    steps.push(step.map((h) => h.action).sort());
    inFlight = step.length;
    for (const h of step) h.go();
  };
  const later = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(release, 50);
  };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? '').replace(/Command$/, '');
      if (!open && until.includes(action)) {
        open = true;
        beside.push(...held.map((h) => h.action).sort());
        for (const h of held) h.go();
        held = [];
        reach(steps);
      }
      if (open) return next(args);
      await new Promise<void>((go) => {
        held.push({ action, go });
        later();
      });
      try {
        return await next(args);
      } finally {
        inFlight--;
        if (inFlight === 0) later();
      }
    },
    { step: 'initialize', priority: 'high', name: 'lockStep' },
  );
  return { reached, steps, beside };
}

/** A client of its own SQSClient (held in lock step), on `domain`, queues usable once created. */
function stepClient(domain: string, until: readonly string[]) {
  const { endpoint, region, credentials } = backendEnv();
  const sqs = new SQSClient({ endpoint, region, credentials });
  const step = lockStep(sqs, until);
  const client = new TaskClient(Object.assign({ domain, sqs }, { [SETTLE_MS_OPTION]: 0 }));
  client.registerTasks(stages);
  const close = async () => {
    await client.close();
    sqs.destroy();
  };
  return { client, step, close };
}

const RECEIVE = ['ReceiveMessage'];
const SEND = ['SendMessage', 'SendMessageBatch'];
const count = (steps: string[][], action: string) => steps.flat().filter((a) => a === action).length;

describe('a start on queues that exist and match', () => {
  const domain = testDomain('steps');

  beforeAll(async () => {
    const { client, close } = stepClient(domain, []);
    await client.createQueues();
    await close();
  });

  it("finds a middle stage's queues in one step; its first receive goes out beside their checks", async () => {
    const { client, step, close } = stepClient(domain, RECEIVE);
    const run = client.run('relay', { idleTimeout: 60_000 })[Symbol.asyncIterator]();
    const next = run.next();
    const steps = await step.reached;
    await client.close();
    await next;
    await close();
    // Its input and dead-letter queue, the sink's (the next stage's) and its queue of timers.
    // No check was answered before the first receive went out: its input's was held with it.
    expect(steps).toEqual([Array.from({ length: 5 }, () => 'GetQueueUrl')]);
    expect(step.beside).toContain('GetQueueAttributes');
  });

  it("finds and checks the source's next queues in two steps before its first send", async () => {
    const { client, step, close } = stepClient(domain, SEND);
    const done = collect(client.run('source', { limit: 1 }));
    const steps = await step.reached;
    expect(await done).toEqual([1]);
    await close();
    expect(steps.map((s) => [...new Set(s)])).toEqual([['GetQueueUrl'], ['GetQueueAttributes']]);
    expect(count(steps, 'GetQueueUrl')).toBe(2); // the relay's input and dead-letter queue
    expect(count(steps, 'GetQueueAttributes')).toBe(2);
  });

  it("finds and checks a Lambda stage's queues in two steps on its cold start", async () => {
    const { client, step, close } = stepClient(domain, []);
    await client.lambda('relay')({ Records: [] }, { getRemainingTimeInMillis: () => 60_000 });
    await close();
    expect(step.steps.map((s) => [...new Set(s)])).toEqual([['GetQueueUrl'], ['GetQueueAttributes']]);
    expect(count(step.steps, 'GetQueueUrl')).toBe(5);
    expect(count(step.steps, 'GetQueueAttributes')).toBe(5);
  });
});

describe('a start on a new domain', () => {
  /** Created in steps: the dead-letter queues at once, then the inputs that redrive to them. */
  const creating = [
    ['GetQueueUrl'],
    ['CreateQueue'],
    ['GetQueueAttributes'],
    ['CreateQueue'],
    ['GetQueueAttributes'],
  ];

  it("creates a middle stage's queues in five steps before its first receive", async () => {
    const { client, step, close } = stepClient(testDomain('stepsrelay'), RECEIVE);
    const run = client.run('relay', { idleTimeout: 60_000 })[Symbol.asyncIterator]();
    const next = run.next();
    const steps = await step.reached;
    await client.close();
    await next;
    await close();
    expect(steps.map((s) => [...new Set(s)])).toEqual(creating);
    // The two dead-letter queues and the queue of timers, then the two inputs.
    expect(steps.map((s) => s.length)).toEqual([5, 3, 3, 2, 2]);
  });

  it("creates the source's next queues in five steps before its first send", async () => {
    const { client, step, close } = stepClient(testDomain('stepssource'), SEND);
    const done = collect(client.run('source', { limit: 1 }));
    const steps = await step.reached;
    expect(await done).toEqual([1]);
    await close();
    expect(steps.map((s) => [...new Set(s)])).toEqual(creating);
    expect(steps.map((s) => s.length)).toEqual([2, 1, 1, 1, 1]);
  });

  it("creates a Lambda stage's queues in five steps on its cold start", async () => {
    const { client, step, close } = stepClient(testDomain('stepslambda'), []);
    await client.lambda('relay')({ Records: [] }, { getRemainingTimeInMillis: () => 60_000 });
    await close();
    expect(step.steps.map((s) => [...new Set(s)])).toEqual(creating);
    expect(step.steps.map((s) => s.length)).toEqual([5, 3, 3, 2, 2]);
  });
});

describe('a check that fails after the first receive went out beside it', () => {
  const domain = testDomain('stepsfail');

  it('hands back what the receive brought, uncalled, and the run fails with the check', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const filler = new TaskClient(
      Object.assign({ domain, endpoint, region, credentials }, { [SETTLE_MS_OPTION]: 0 }),
    );
    filler.registerTasks(stages);
    await filler.createQueues();
    await filler.enqueue('relay', 'waiting');
    const [input] = (await filler.queues()).filter((q) => q.stage === 'relay' && q.level === 0);
    await filler.close();
    expect(input).toBeDefined();

    // The check of the relay's input fails (SQS refuses GetQueueAttributes), once a receive
    // brought its message (or after 5 s: a start that receives only after its checks).
    const sqs = new SQSClient({ endpoint, region, credentials });
    let brought: () => void = () => {};
    const receivedFirst = new Promise<boolean>((resolve) => {
      brought = () => resolve(true);
      setTimeout(() => resolve(false), 5000).unref();
    });
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetQueueAttributesCommand') {
          const { QueueUrl } = args.input as { QueueUrl?: string };
          if (QueueUrl === input?.url) {
            await receivedFirst;
            throw Object.assign(new Error('refused for the test'), { name: 'AccessDenied' });
          }
        }
        const out = await next(args);
        const messages = (out.output as { Messages?: unknown[] }).Messages;
        if (context.commandName === 'ReceiveMessageCommand' && (messages?.length ?? 0) > 0) brought();
        return out;
      },
      { step: 'initialize', name: 'refuseCheck' },
    );
    const called: unknown[] = [];
    const client = new TaskClient(Object.assign({ domain, sqs }, { [SETTLE_MS_OPTION]: 0 }));
    client.registerTasks([
      stages[0] as StageEntry,
      { name: 'relay', method: (x: unknown) => called.push(x) },
      stages[2] as StageEntry,
    ]);
    const outcome = await collect(client.run('relay', { idleTimeout: 60_000 })).then(
      () => undefined,
      (error: unknown) => error,
    );
    await client.close();
    sqs.destroy();
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toContain('refused for the test');
    expect(await receivedFirst).toBe(true);
    expect(called).toEqual([]);
    // Handed back at once (not left invisible for its visibility timeout), its receive counted.
    const raw = rawClient();
    try {
      const { Messages = [] } = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: input?.url,
          WaitTimeSeconds: 5,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      expect(Messages).toHaveLength(1);
      expect(Messages[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    } finally {
      raw.destroy();
    }
  });
});
