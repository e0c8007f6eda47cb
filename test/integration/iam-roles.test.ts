/**
 * `iam-policy --role`: each role's real calls, recorded by an SQS client middleware (action and
 * queue), against the policy printed for that role. Every call must be allowed, and every action
 * of every statement must have been used (on one of its resources) but for a short list of
 * documented exceptions. Each role starts in a domain of its own, with no queue yet, so that it
 * creates what it touches, as it may in production when it runs first. A pipeline with a join
 * (`--stages …:join=<split>`) runs on the backend's S3 too (skipped where it has none).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { OperatorContext } from '../../src/cli/operator/context.ts';
import { destroyCommand } from '../../src/cli/operator/destroy.ts';
import { enqueueCommand } from '../../src/cli/operator/enqueue.ts';
import { iamPolicyCommand } from '../../src/cli/operator/iam-command.ts';
import { parsePipeline } from '../../src/cli/operator/iam-policy.ts';
import { type IamPolicy, type Role, rolePolicy } from '../../src/cli/operator/iam-roles.ts';
import { peekCommand } from '../../src/cli/operator/peek.ts';
import { purgeCommand } from '../../src/cli/operator/purge.ts';
import { redriveCommand } from '../../src/cli/operator/redrive.ts';
import { repliesCommand } from '../../src/cli/operator/replies.ts';
import { statusCommand } from '../../src/cli/operator/status-command.ts';
import { fanOut, ItemError, type StageEntry, TaskClient, type TaskClientEvents } from '../../src/index.ts';
import { removeStaleReplyQueues } from '../../src/replies/stale-replies.ts';
import { s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv, testDomain } from '../support/sqs.ts';

/** gen (the source) → work (2 priority levels) → sink. `bad` fails in work, `bad2` in sink. */
const STAGES: StageEntry[] = [
  { name: 'gen', method: () => 'g' },
  {
    name: 'work',
    priorities: 2,
    retries: 0,
    method: (v: unknown) => {
      if (v === 'bad') throw new Error('bad input');
      return v;
    },
  },
  {
    name: 'sink',
    retries: 0,
    method: (v: unknown) => {
      if (v === 'bad2') throw new Error('bad input');
      return v;
    },
  },
];
const PIPELINE = parsePipeline('gen,work:2,sink', 1);
const ACCOUNT = '000000000000';

/**
 * Granted but not always used in one run, with why:
 * - ChangeMessageVisibility on the queues a role consumes: a heartbeat extends an input's
 *   visibility only when its call outlasts it, a stop hands back inputs received but not started,
 *   and redrive hands back only messages that arrived while it ran; none happens on cue here.
 * - SetQueueAttributes on the queues a stage (or `createQueues()`) owns: only when an option
 *   changed since the queue was made (test/integration/queue-attributes.test.ts).
 * - DeleteMessage on a stage's own dead-letter queue: only when its sweep finds a message SQS
 *   moved there itself (test/integration/dlq-sweep.test.ts).
 */
const MAY_BE_UNUSED = new Set([
  'sqs:ChangeMessageVisibility',
  'sqs:SetQueueAttributes',
  'SqspipesOwnDeadLetter: sqs:DeleteMessage',
  // Its own timers sent on to its input: only when something was sent for later.
  'SqspipesConsume: sqs:SendMessage',
  'SqspipesOwnTimers: sqs:SendMessage',
  'SqspipesOwnTimers: sqs:DeleteMessage',
]);

/**
 * Statements of features these pipelines do not use: sends for later (`delayed()`, `enqueue()`
 * with `delay`) and the permits of `rateLimit`/`maxConcurrency` (test/integration/limits.test.ts).
 */
const UNUSED_FEATURES = new Set(['SqspipesSendLater', 'SqspipesPermits']);

interface Call {
  readonly action: string;
  /** The queue's name, or `*` for a call on no queue (ListQueues). */
  readonly queue: string;
}

/** A client that records, per call, the IAM actions it needs and the queue it names. */
function recordingClient(calls: Call[]): SQSClient {
  const { endpoint, region, credentials } = backendEnv();
  const sqs = new SQSClient({ endpoint, region, credentials });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const input = args.input as { QueueUrl?: unknown; QueueName?: unknown; tags?: unknown };
      const queue =
        typeof input.QueueName === 'string'
          ? input.QueueName
          : typeof input.QueueUrl === 'string'
            ? decodeURIComponent(input.QueueUrl.slice(input.QueueUrl.lastIndexOf('/') + 1))
            : '*';
      for (const iam of iamActions(action, input.tags)) calls.push({ action: iam, queue });
      return next(args);
    },
    { step: 'initialize', name: 'iamRecorder' },
  );
  return sqs;
}

/** The IAM actions an SQS call needs: a batch is authorized by its single action; tags on CreateQueue need TagQueue. */
function iamActions(action: string, tags: unknown): string[] {
  const single = `sqs:${action.replace(/Batch$/, '')}`;
  const tagged = action === 'CreateQueue' && typeof tags === 'object' && tags !== null;
  return tagged && Object.keys(tags).length > 0 ? [single, 'sqs:TagQueue'] : [single];
}

/** IAM's wildcard match: `*` is any run of characters, the rest literal. */
function matches(pattern: string, value: string): boolean {
  const regex = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${regex.join('.*')}$`).test(value);
}

function resourcesOf(statement: IamPolicy['Statement'][number]): readonly string[] {
  return typeof statement.Resource === 'string' ? [statement.Resource] : statement.Resource;
}

/** The ARN IAM checks for a call on `queue` (`*` for a call on no queue). */
function arnOf(scheme: { region: string }, queue: string): string {
  return queue === '*' ? '*' : `arn:aws:sqs:${scheme.region}:${ACCOUNT}:${queue}`;
}

/**
 * Every call allowed; every statement's every action used on one of its resources (but the
 * exceptions, and the statements `unchecked` names).
 */
function expectExactly(
  policy: IamPolicy,
  calls: readonly Call[],
  region: string,
  unchecked: (sid: string, action: string) => boolean = () => false,
): void {
  expect(calls.length).toBeGreaterThan(0);
  const denied = calls.filter(
    (call) =>
      !policy.Statement.some(
        (s) =>
          s.Action.some((a) => matches(a, call.action)) &&
          resourcesOf(s).some((r) => matches(r, arnOf({ region }, call.queue))),
      ),
  );
  expect(denied, 'calls the policy does not allow').toEqual([]);
  const unused = policy.Statement.flatMap((s) =>
    s.Action.filter(
      (action) =>
        !unchecked(s.Sid, action) &&
        !UNUSED_FEATURES.has(s.Sid) &&
        !MAY_BE_UNUSED.has(action) &&
        !MAY_BE_UNUSED.has(`${s.Sid}: ${action}`) &&
        !calls.some(
          (call) =>
            matches(action, call.action) &&
            resourcesOf(s).some((r) => matches(r, arnOf({ region }, call.queue))),
        ),
    ).map((action) => `${s.Sid}: ${action}`),
  );
  expect(unused, 'granted but never used').toEqual([]);
}

/** Resolves once `client` emitted `event` `count` times from now. */
function after(client: TaskClient, event: keyof TaskClientEvents, count = 1): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    client.on(event, () => {
      if (++seen === count) resolve();
    });
  });
}

/**
 * Runs `stage` of `worker` until `done` resolves; resolves once its queues exist and it polls,
 * with the run's end.
 */
async function runUntil(
  worker: TaskClient,
  stage: string,
  done: Promise<void>,
): Promise<{ stopped: Promise<void> }> {
  const stop = new AbortController();
  const idle = after(worker, 'idle');
  const running = (async () => {
    for await (const _ of worker.run(stage, { signal: stop.signal })) void _;
  })();
  await idle;
  const stopped = done.then(async () => {
    stop.abort();
    await running;
  });
  return { stopped };
}

describe('iam-policy --role: each role is allowed exactly what its calls need', () => {
  const { endpoint, region, credentials } = backendEnv();
  const clients: TaskClient[] = [];
  const sqsClients: SQSClient[] = [];

  /** A client of `domain`: recording its calls into `calls` when given. */
  function client(domain: string, calls?: Call[]): TaskClient {
    return clientOn(domain, calls === undefined ? undefined : recorder(calls));
  }

  function recorder(calls: Call[]): SQSClient {
    const sqs = recordingClient(calls);
    sqsClients.push(sqs);
    return sqs;
  }

  function clientOn(domain: string, sqs: SQSClient | undefined): TaskClient {
    const options =
      sqs === undefined
        ? { domain, endpoint, region, credentials, pollWaitSeconds: 1 }
        : { domain, sqs, pollWaitSeconds: 1 };
    const made = new TaskClient(options).registerTasks(STAGES);
    clients.push(made);
    return made;
  }

  function policy(domain: string, role: Role, stage?: string): IamPolicy {
    const scheme = { partition: 'aws', region, account: ACCOUNT, domain };
    return rolePolicy(scheme, PIPELINE, { role, stage, kmsKey: undefined });
  }

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const sqs of sqsClients) sqs.destroy();
  });

  it("stage, the source: only the next stage's queues", async () => {
    const domain = testDomain('iamsrc');
    const calls: Call[] = [];
    const source = client(domain, calls);
    for await (const _ of source.run('gen', { limit: 3 })) void _;
    expectExactly(policy(domain, 'stage', 'gen'), calls, region);
  });

  it('stage: consumes its inputs, dead-letters, forwards to the next stage, replies to a sender', async () => {
    const domain = testDomain('iamwork');
    const calls: Call[] = [];
    const worker = client(domain, calls);
    const feeder = client(domain);
    const dead = after(worker, 'deadLettered', 2);
    const processed = after(worker, 'processed', 2);
    const { stopped } = await runUntil(
      worker,
      'work',
      Promise.all([dead, processed]).then(() => undefined),
    );
    await feeder.enqueue('work', 'a');
    await feeder.enqueue('work', 'b', { priority: 1 });
    await feeder.enqueue('work', 'bad', { priority: 1 });
    const submitted = await feeder.submit('bad', { stage: 'work' });
    await expect(submitted.result()).rejects.toBeInstanceOf(ItemError);
    await stopped;
    expectExactly(policy(domain, 'stage', 'work'), calls, region);
  });

  it('stage, the last: consumes its inputs, dead-letters, replies results', async () => {
    const domain = testDomain('iamsink');
    const calls: Call[] = [];
    const worker = client(domain, calls);
    const feeder = client(domain);
    const { stopped } = await runUntil(worker, 'sink', after(worker, 'deadLettered'));
    const submitted = await feeder.submit('ok', { stage: 'sink' });
    await feeder.enqueue('sink', 'bad2');
    expect(await submitted.result()).toEqual(['ok']);
    await stopped;
    expectExactly(policy(domain, 'stage', 'sink'), calls, region);
  });

  it("producer: feeds its stage's inputs; submit() owns a reply queue", async () => {
    const domain = testDomain('iamprod');
    const calls: Call[] = [];
    const producer = client(domain, calls);
    await producer.enqueue('work', 'a');
    await producer.enqueue('work', 'b', { priority: 1 });
    const submitted = await producer.submit('bad');
    const worker = client(domain);
    const { stopped } = await runUntil(worker, 'work', after(worker, 'deadLettered'));
    await expect(submitted.result()).rejects.toBeInstanceOf(ItemError);
    await stopped;
    await producer.close(); // deletes its reply queue
    expectExactly(policy(domain, 'producer'), calls, region);
  });

  it('operator: every sqspipes command and the client’s queues(), redrive(), purge(), destroy()', async () => {
    const domain = testDomain('iamop');
    const calls: Call[] = [];
    const sqs = recorder(calls);
    const operator = clientOn(domain, sqs);
    await operator.createQueues();
    // Another process leaves a dead letter, and a sender its reply queue.
    const worker = client(domain);
    await worker.enqueue('work', 'bad');
    const { stopped } = await runUntil(worker, 'work', after(worker, 'deadLettered'));
    await stopped;
    await client(domain).submit('x', { stage: 'sink' });
    const ctx: OperatorContext = { sqs, domain, json: true, note: () => {} };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await statusCommand(ctx, { watch: false, interval: 2000, count: undefined });
      await iamPolicyCommand(ctx, undefined, { role: 'operator', stage: undefined, kmsKey: undefined }, () =>
        Promise.resolve(region),
      );
      await peekCommand(ctx, { stage: 'work', dlq: false, level: undefined, max: 10 });
      await peekCommand(ctx, { stage: 'work', dlq: true, level: undefined, max: 10 });
      await enqueueCommand(ctx, { stage: 'work', priority: 1, id: undefined, key: undefined }, [
        { value: 1, line: undefined },
      ]);
      await redriveCommand(ctx, 'work');
      await operator.queues();
      await operator.redrive('sink');
      await repliesCommand(ctx, { removeStale: false, staleAfterMs: 300_000 });
      // `replies --remove-stale`, an hour later (the command takes no clock: the library does).
      expect(await removeStaleReplyQueues(sqs, domain, { now: Date.now() + 3_600_000 })).toHaveLength(1);
      await purgeCommand(ctx, undefined);
      await operator.purge();
      await operator.destroy();
      await destroyCommand(ctx, true, { available: false, ask: () => Promise.resolve(false) });
    } finally {
      out.mockRestore();
    }
    expectExactly(policy(domain, 'operator'), calls, region);
  });
});

/**
 * split (fed by submit() and enqueue()) → work → gather (`join: 'split'`). In split's calls:
 * `crash` fails. In work: `boom` fails (in the scope: reported to gather, which dead-letters the
 * item; given to work directly: replied to its sender), `skip` is filtered out, a word longer than
 * 4 letters is fanned out in two, others carry their branch on.
 */
const JOIN_STAGES: StageEntry[] = [
  {
    name: 'split',
    input: true,
    retries: 0,
    method: (line: string) => {
      if (line === 'crash') throw new Error('bad line');
      return fanOut(line.split(' '));
    },
  },
  {
    name: 'work',
    retries: 0,
    method: (word: string) => {
      if (word === 'boom') throw new Error('bad word');
      if (word === 'skip') return null;
      return word.length > 4 ? fanOut([word.slice(0, 2), word.slice(2)]) : word.toUpperCase();
    },
  },
  { name: 'gather', method: (words: string[]) => words.join(','), join: 'split' },
];

const s3Skipped = await s3Unavailable();

/** The IAM action and resource of an S3 call (a batch delete: one per key; an unknown call as is). */
function s3Actions(bucket: string, action: string, input: { Key?: unknown; Delete?: unknown }): Call[] {
  const object = (key: unknown) => `arn:aws:s3:::${bucket}/${String(key)}`;
  const onObject: Record<string, string> = {
    GetObject: 's3:GetObject',
    HeadObject: 's3:GetObject',
    PutObject: 's3:PutObject',
    DeleteObject: 's3:DeleteObject',
  };
  const onBucket: Record<string, string> = {
    ListObjectsV2: 's3:ListBucket',
    HeadBucket: 's3:ListBucket',
    GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  };
  if (action === 'DeleteObjects') {
    const keys = (input.Delete as { Objects?: { Key?: unknown }[] } | undefined)?.Objects ?? [];
    return keys.map((o) => ({ action: 's3:DeleteObject', queue: object(o.Key) }));
  }
  const single = onObject[action];
  if (single !== undefined) return [{ action: single, queue: object(input.Key) }];
  return [{ action: onBucket[action] ?? `s3:${action}`, queue: `arn:aws:s3:::${bucket}` }];
}

describe.skipIf(s3Skipped !== undefined)('iam-policy --stages …:join=<split>: the stages of a join', () => {
  const { region } = backendEnv();
  const bucket = testBucket('iamjoin');
  const prefix = 'iam/';
  const domain = testDomain('iamjoin');
  const pipeline = parsePipeline('split:1,work,gather:join=split', 1);
  const clients: TaskClient[] = [];
  const closers: { destroy(): void }[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const c of closers) c.destroy();
  });

  /** A client of the join pipeline, recording its SQS calls into `sqsCalls` and its S3 calls into `s3Calls` when given. */
  function joinClient(sqsCalls?: Call[], s3Calls?: Call[]): TaskClient {
    const s3 = s3Client();
    closers.push(s3);
    if (s3Calls !== undefined) {
      s3.middlewareStack.add(
        (next, context) => async (args) => {
          const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
          s3Calls.push(...s3Actions(bucket, action, args.input as { Key?: unknown; Delete?: unknown }));
          return next(args);
        },
        { step: 'initialize', name: 'iamRecorder' },
      );
    }
    const payloads = { bucket, prefix, s3Client: s3 };
    const { endpoint, credentials } = backendEnv();
    let options;
    if (sqsCalls === undefined) {
      options = { domain, endpoint, region, credentials, pollWaitSeconds: 1, payloads };
    } else {
      const sqs = recordingClient(sqsCalls);
      closers.push(sqs);
      options = { domain, sqs, pollWaitSeconds: 1, payloads };
    }
    const made = new TaskClient(options).registerTasks(JOIN_STAGES);
    clients.push(made);
    return made;
  }

  /** An S3 call (its ARN in `queue`) allowed by one of the policy's statements. */
  function allowedOnS3(policy: IamPolicy, call: Call): boolean {
    return policy.Statement.some(
      (s) => s.Action.includes(call.action) && resourcesOf(s).some((r) => matches(r, call.queue)),
    );
  }

  it("the split and the stages in its scope send to the join's queues; the join's S3 state is within the stage's grants", async () => {
    const names = ['split', 'work', 'gather'] as const;
    const sqsCalls = { split: [] as Call[], work: [] as Call[], gather: [] as Call[] };
    const s3Calls = { split: [] as Call[], work: [] as Call[], gather: [] as Call[] };
    const workers = Object.fromEntries(
      names.map((name) => [name, joinClient(sqsCalls[name], s3Calls[name])]),
    ) as Record<(typeof names)[number], TaskClient>;
    const feeder = joinClient();
    const done = Promise.all([
      after(workers.split, 'deadLettered'), // crash
      after(workers.work, 'deadLettered', 2), // boom in the scope, and given directly
      after(workers.gather, 'deadLettered'), // the item of the dead boom
    ]).then(() => undefined);
    const runs = await Promise.all(names.map((name) => runUntil(workers[name], name, done)));
    const joined = await feeder.submit('ab skip quick');
    const crashed = await feeder.submit('crash');
    const direct = await feeder.submit('boom', { stage: 'work' });
    expect(await joined.result()).toEqual(['AB,qu,ick']);
    // Only now: `done` counts dead letters, and the runs stop when it resolves; fed earlier, the
    // join could dead-letter this item before `joined` was gathered, stopping every run first
    // (test/integration/join-stall.test.ts shows the join itself goes on in that order).
    await feeder.enqueue('split', 'x boom');
    await expect(crashed.result()).rejects.toBeInstanceOf(ItemError);
    await expect(direct.result()).rejects.toBeInstanceOf(ItemError);
    await Promise.all(runs.map((r) => r.stopped));
    const payloads = { bucket, prefix, kmsKey: undefined };
    // Checked as allowed, not as used: the S3 statements and the queue of pending deletes (what a
    // run touches there depends on the bodies' sizes: test/integration/payloads*.test.ts), the
    // creation of a queue, which the stages here race to (the tests above check it), and a
    // statement of sends to the join's queues alone (the join's own: the timers of its items,
    // passed on by whichever run sweeps them once due, a day later by default; the reports of the
    // split and work are checked below).
    const unchecked = (sid: string, action: string) =>
      sid.startsWith('SqspipesPayload') ||
      sid === 'SqspipesJoinReports' ||
      action === 'sqs:CreateQueue' ||
      action === 'sqs:TagQueue';
    for (const name of names) {
      const scheme = { partition: 'aws', region, account: ACCOUNT, domain };
      const policy = rolePolicy(scheme, pipeline, {
        role: 'stage',
        stage: name,
        kmsKey: undefined,
        payloads,
      });
      expectExactly(policy, sqsCalls[name], region, unchecked);
      expect(s3Calls[name].filter((call) => !allowedOnS3(policy, call))).toEqual([]);
    }
    // The split reported to the join, on the join's queue (its outputs go to work's).
    const reports = sqsCalls.split.filter(
      (c) => c.action === 'sqs:SendMessage' && c.queue.includes('-gather-'),
    );
    expect(reports.map((c) => c.queue)).toContain(`${domain}-gather-p0.fifo`);
    // The join read, wrote and (once its item was joined) deleted its items' state under
    // <prefix><domain>/join/, and wrote their tombstones under /joined/.
    const under = (kind: string) =>
      new Set(
        s3Calls.gather
          .filter((c) => c.queue.startsWith(`arn:aws:s3:::${bucket}/${prefix}${domain}/${kind}/`))
          .map((c) => c.action),
      );
    expect(under('join')).toEqual(new Set(['s3:GetObject', 's3:PutObject', 's3:DeleteObject']));
    expect(under('joined')).toEqual(new Set(['s3:GetObject', 's3:PutObject']));
  });
});
