/**
 * The operator CLI `sqspipes`, driven as a user would: spawned processes against the test
 * backend. Pipelines (gen → work (2 levels) → sink (retries: 1)) are run through TaskClient to
 * create real queues: work and sink each have a DLQ (every stage but the first has one). Every domain starts with one unique prefix `base`; `base`,
 * `base2` and `base-x` carry the same backlog, so that purge and destroy of `base` prove they
 * touch only its exact queues (`base-x-work-p0.fifo` is also the name stage `x-work` of `base`
 * would have: only the tags tell them apart), while the other `base…` domains stand by as well.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { queueDepths } from '../../src/queues/depths.ts';
import { REDRIVE_SLACK } from '../../src/queues/topology.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, childEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs `sqspipes <args>` with the backend's environment, `stdin` piped in (never a terminal). */
async function cli(args: readonly string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: options.env ?? childEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.stdin ?? '');
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stdout, stderr } satisfies CliResult;
}

/** `cli` that must succeed; resolves with stdout. */
async function ok(args: readonly string[], options: { stdin?: string } = {}): Promise<string> {
  const result = await cli(args, options);
  expect(result.code, `sqspipes ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

function oneLine(text: string): string {
  const lines = text.trim().split('\n');
  expect(lines, text).toHaveLength(1);
  return lines[0] ?? '';
}

describe('operator CLI', () => {
  const base = uniquePrefix('op');
  const domains = {
    a: base,
    b: `${base}2`,
    x: `${base}-x`,
    stage: `${base}s`,
    peek: `${base}p`,
    enq: `${base}e`,
    redrive: `${base}r`,
  };
  const raw = rawClient();
  const clients: TaskClient[] = [];

  function pipeline(domain: string): TaskClient {
    const { endpoint, region, credentials } = backendEnv();
    let n = 0;
    const client = new TaskClient({ domain, endpoint, region, credentials }).registerTasks([
      { name: 'gen', method: () => ++n },
      { name: 'work', method: (x: unknown) => x, priorities: 2 },
      { name: 'sink', method: (x: unknown) => x, retries: 1 },
    ]);
    clients.push(client);
    return client;
  }

  async function url(name: string): Promise<string> {
    const out = await raw.send(new GetQueueUrlCommand({ QueueName: name }));
    return out.QueueUrl ?? '';
  }

  async function sendRaw(name: string, body: string): Promise<void> {
    const id = randomUUID();
    await raw.send(
      new SendMessageCommand({
        QueueUrl: await url(name),
        MessageBody: body,
        MessageGroupId: id,
        MessageDeduplicationId: id,
      }),
    );
  }

  async function visible(name: string): Promise<number> {
    return (await queueDepths(raw, await url(name))).visible;
  }

  /** The known backlog: work p0 3 (from a run of gen), work p1 2, work DLQ 0, sink p0 4, sink DLQ 1. */
  async function backlog(domain: string): Promise<void> {
    const client = pipeline(domain);
    // Unkeyed outputs are yielded as SQS accepts them: their sends may complete in any order.
    expect((await collect(client.run('gen', { limit: 3 }))).sort()).toEqual([1, 2, 3]);
    await Promise.all([
      ...['w1', 'w2'].map((v) => client.enqueue('work', v, { priority: 1 })),
      ...['s1', 's2', 's3', 's4'].map((v) => client.enqueue('sink', v)),
    ]);
    await sendRaw(`${domain}-sink-dlq.fifo`, '{"v":1,"id":"dead","p":0,"d":"dead"}');
  }

  /** Creates every queue of the pipeline by running its stages on nothing. */
  async function emptyQueues(domain: string): Promise<TaskClient> {
    const client = pipeline(domain);
    await client.createQueues();
    return client;
  }

  const row = (domain: string, stage: string, stageIndex: number, level: number | 'dlq', count: number) => ({
    stage,
    stageIndex,
    level,
    queue: `${domain}-${stage}-${level === 'dlq' ? 'dlq' : `p${level}`}.fifo`,
    visible: count,
    inFlight: 0,
    delayed: 0,
  });
  const backlogRows = (d: string) => [
    row(d, 'work', 1, 0, 3),
    row(d, 'work', 1, 1, 2),
    row(d, 'work', 1, 'dlq', 0),
    row(d, 'sink', 2, 0, 4),
    row(d, 'sink', 2, 'dlq', 1),
  ];

  /** Clients of the domains whose queues are created empty, for the tests that fill them. */
  const empty = new Map<string, TaskClient>();

  beforeAll(async () => {
    await Promise.all([
      ...[domains.a, domains.b, domains.x, domains.stage].map(backlog),
      ...[domains.peek, domains.enq, domains.redrive].map(async (d) => empty.set(d, await emptyQueues(d))),
    ]);
  });

  function emptyClient(domain: string): TaskClient {
    const client = empty.get(domain);
    if (client === undefined) throw new Error(`no queues were made for ${domain}`);
    return client;
  }

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await deleteQueuesWithPrefix(raw, base);
    raw.destroy();
  });

  it('status --json gives each queue of the domain, in pipeline order, with its depths', async () => {
    const rows: unknown = JSON.parse(await ok(['status', '--domain', domains.a, '--json']));
    expect(rows).toEqual(backlogRows(domains.a));
  });

  it('status prints a table (here with --endpoint instead of the environment)', async () => {
    const { endpoint } = backendEnv();
    const env = childEnv();
    delete env['AWS_ENDPOINT_URL_SQS'];
    const result = await cli(['status', '--domain', domains.a, '--endpoint', endpoint], { env });
    expect(result.code, result.stderr).toBe(0);
    const [header, ...lines] = result.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['STAGE', 'LEVEL', 'VISIBLE', 'IN FLIGHT', 'DELAYED', 'QUEUE']);
    expect(lines.map((l) => l.trim().split(/\s+/))).toEqual(
      backlogRows(domains.a).map((r) => [r.stage, String(r.level), String(r.visible), '0', '0', r.queue]),
    );
  });

  it('an unreachable endpoint: one line naming it, where it came from, the command and what to check', async () => {
    const env = childEnv();
    delete env['AWS_ENDPOINT_URL_SQS'];
    const result = await cli(['status', '--domain', domains.a, '--endpoint', 'http://127.0.0.1:1'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('Cannot connect to SQS while running `sqspipes status`');
    expect(result.stderr).toContain('http://127.0.0.1:1');
    expect(result.stderr).toMatch(/Check that the SQS server is running/);
  });

  it('status --watch --count refreshes, with rates, and stops', async () => {
    const json = await ok([
      'status',
      '--domain',
      domains.a,
      '--watch',
      '--count',
      '2',
      '--interval',
      '100',
      '--json',
    ]);
    const frames = json
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { visibleRate: number | null }[]);
    expect(frames).toHaveLength(2);
    expect(frames[0]?.map((r) => r.visibleRate)).toEqual([null, null, null, null, null]);
    expect(frames[1]?.map((r) => r.visibleRate)).toEqual([0, 0, 0, 0, 0]);
    const text = await ok(['status', '--domain', domains.a, '--watch', '--count', '2', '--interval', '100']);
    expect(text.match(/^# \d{4}-/gm)).toHaveLength(2);
    expect(text.match(/RATE\/s/g)).toHaveLength(2);
  });

  it("iam-policy is valid JSON naming exactly the domain's queue ARNs", async () => {
    const names = backlogRows(domains.a).map((r) => r.queue);
    const arns = await Promise.all(
      names.map(async (name) => {
        const out = await raw.send(
          new GetQueueAttributesCommand({ QueueUrl: await url(name), AttributeNames: ['QueueArn'] }),
        );
        return out.Attributes?.QueueArn ?? '';
      }),
    );
    const policy = JSON.parse(await ok(['iam-policy', '--domain', domains.a, '--role', 'operator'])) as {
      Version: string;
      Statement: { Sid: string; Action: string[]; Resource: string | string[] }[];
    };
    expect(policy.Version).toBe('2012-10-17');
    const [inputs, deadLetters, , list] = policy.Statement;
    const named = (p: typeof policy) => p.Statement.slice(0, 2).flatMap((s) => [s.Resource].flat());
    expect(named(policy).sort()).toEqual([...arns].sort());
    expect(inputs?.Action).toEqual(expect.arrayContaining(['sqs:SendMessage', 'sqs:PurgeQueue']));
    expect(deadLetters?.Action).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
    expect(list).toEqual({
      Sid: 'SqspipesListQueues',
      Effect: 'Allow',
      Action: ['sqs:ListQueues'],
      Resource: '*',
    });
    // Computed from the naming scheme, for the same account and region: the same ARNs. --stages
    // lists the pipeline's stages as registered: the first (gen, the source) has no queues; each
    // other stage's DLQ is included by default; --dlq-stages names fewer (queues made before every
    // stage had one).
    const [, partition, , region, account] = (arns[0] ?? '').split(':');
    const computedArgs = [
      'iam-policy',
      '--domain',
      domains.a,
      '--role',
      'operator',
      '--stages',
      'gen,work:2,sink',
      '--account',
      account ?? '',
      '--region',
      region ?? '',
      '--partition',
      partition ?? '',
    ];
    const computed = JSON.parse(await ok(computedArgs)) as typeof policy;
    expect(named(computed).sort()).toEqual([...arns].sort());
    const fewer = JSON.parse(await ok([...computedArgs, '--dlq-stages', 'sink'])) as typeof policy;
    expect(named(fewer).sort()).toEqual(arns.filter((arn) => !arn.endsWith('-work-dlq.fifo')).sort());
    // A stage's workers: read from the existing queues too, without purge, delete or list.
    const stage = JSON.parse(
      await ok(['iam-policy', '--domain', domains.a, '--role', 'stage', '--stage', 'work']),
    ) as typeof policy;
    const actions = stage.Statement.flatMap((s) => s.Action);
    expect(actions).toContain('sqs:ReceiveMessage');
    expect(actions).not.toContain('sqs:PurgeQueue');
    expect(actions).not.toContain('sqs:ListQueues');
  });

  it("scaling reads the stages from the domain's queues: a ScaledObject or a policy per stage with queues", async () => {
    const yaml = await ok(['scaling', '--domain', domains.a, '--keda', '--target-backlog', '7']);
    const docs = yaml.split('---\n');
    expect(docs.map((d) => /^ {2}name: "(.*)"$/m.exec(d)?.[1])).toEqual([
      `${domains.a}-work`,
      `${domains.a}-sink`,
    ]);
    expect(docs.map((d) => d.match(/type: aws-sqs-queue/g)?.length)).toEqual([2, 1]);
    expect(yaml).toContain(`/${domains.a}-work-p1.fifo"`);
    expect(yaml).toContain('queueLength: "7"');
    const policies = JSON.parse(await ok(['scaling', '--domain', domains.a, '--cloudwatch'])) as {
      AutoScalingGroupName: string;
    }[];
    expect(policies.map((p) => p.AutoScalingGroupName)).toEqual([`${domains.a}-work`, `${domains.a}-sink`]);
  });

  it('peek shows messages without consuming them', async () => {
    const client = emptyClient(domains.peek);
    await Promise.all([
      client.enqueue('work', 'low-a'),
      client.enqueue('work', 'low-b'),
      client.enqueue('work', 'high', { priority: 1 }),
      client.enqueue('sink', 'to-sink'),
    ]);
    await sendRaw(`${domains.peek}-sink-dlq.fifo`, 'not json at all');
    const peeked = JSON.parse(await ok(['peek', 'work', '--domain', domains.peek, '--json'])) as {
      queueLevel: number;
      envelope: boolean;
      value: unknown;
      level: number;
    }[];
    expect(peeked.map((m) => [m.queueLevel, m.value]).sort()).toEqual([
      [0, 'low-a'],
      [0, 'low-b'],
      [1, 'high'],
    ]);
    expect(peeked[0]).toMatchObject({ queueLevel: 1, envelope: true, level: 1, value: 'high' });
    // Peeking an input queue notes its maxReceiveCount, SQS's redrive safety net, which peeks count
    // toward: retries + 100, so 102 for work (retries 2 by default) and 101 for sink (retries 1).
    const text = await cli(['peek', 'work', '--domain', domains.peek, '--level', '0', '--max', '1']);
    expect(text.code).toBe(0);
    expect(oneLine(text.stdout)).toMatch(/^p0 {2}id=\S+ {2}level=0 {2}receives=\d+ {2}"low-[ab]"$/);
    expect(oneLine(text.stderr)).toMatch(
      /peeking counts as a receive .*work-p0\.fifo received more than 102 times moves to the dead-letter queue/,
    );
    const sink = await cli(['peek', 'sink', '--domain', domains.peek, '--json']);
    expect(sink.code).toBe(0);
    expect(oneLine(sink.stderr)).toMatch(
      /peeking counts as a receive .*sink-p0\.fifo received more than 101 times moves to the dead-letter queue/,
    );
    expect(JSON.parse(sink.stdout)).toMatchObject([{ value: 'to-sink', receiveCount: 1 }]);
    const dlq = await ok(['peek', 'sink', '--dlq', '--domain', domains.peek]);
    // Sent there by hand and received only by this peek: no reason, and not moved by SQS either.
    expect(oneLine(dlq)).toMatch(
      /^dlq .* receives=1 {2}reason="no reason recorded" {2}not a sqspipes envelope: not JSON .*: not json at all$/,
    );
    // Nothing was consumed: a run still gets all three.
    const got = await collect(client.run('work', { limit: 3, idleTimeout: 10_000 }));
    expect(got.sort()).toEqual(['high', 'low-a', 'low-b']);
  });

  it('enqueue sends the argument and JSON lines from stdin; a run of the stage receives them', async () => {
    const client = emptyClient(domains.enq);
    const d = ['--domain', domains.enq];
    const [arg, lines, keyed, bad, level, stage] = await Promise.all([
      cli(['enqueue', 'sink', '{"a":1}', ...d]),
      cli(['enqueue', 'sink', '-', ...d, '--json'], { stdin: '2\n\n"three"\r\n{"four":4}\n' }),
      // The same --id twice within SQS's deduplication window is one message.
      ok(['enqueue', 'sink', '"keyed"', '--id', 'k1', ...d]).then(() =>
        cli(['enqueue', 'sink', '"keyed"', '--id', 'k1', ...d]),
      ),
      // A bad line sends nothing, and names the line.
      cli(['enqueue', 'sink', '-', ...d], { stdin: '5\nnope\n6\n' }),
      // Levels and stages without a queue: the CLI never creates queues.
      cli(['enqueue', 'work', '8', '--priority', '2', ...d]),
      cli(['enqueue', 'nope', '8', ...d]),
      ok(['enqueue', 'work', '7', '--priority', '1', ...d]),
    ]);
    expect([arg, lines, keyed, bad, level, stage].map((r) => r.code)).toEqual([0, 0, 0, 2, 2, 2]);
    expect(oneLine(arg.stdout)).toBe(`sent 1 message to ${domains.enq}-sink-p0.fifo`);
    expect(JSON.parse(lines.stdout)).toMatchObject({ queue: `${domains.enq}-sink-p0.fifo`, sent: 3 });
    expect(oneLine(bad.stderr)).toMatch(/^Invalid JSON in stdin line 2: /);
    expect(bad.stdout).toBe('');
    expect(oneLine(level.stderr)).toBe(
      `Stage \`work\` of domain \`${domains.enq}\` has no priority level 2 (no queue ${domains.enq}-work-p2.fifo): its levels are 0, 1`,
    );
    expect(oneLine(stage.stderr)).toBe(
      `Stage \`nope\` of domain \`${domains.enq}\` has no queues: its stages with queues are \`work\`, \`sink\` (a pipeline's first stage has none, unless registered with \`input: true\`). A stage's queues are created when that stage runs, or when the library's client.enqueue() is called`,
    );
    expect(await visible(`${domains.enq}-sink-p0.fifo`)).toBe(5);
    expect(await visible(`${domains.enq}-work-p1.fifo`)).toBe(1);
    const [sink, work] = await Promise.all([
      collect(client.run('sink', { limit: 5, idleTimeout: 10_000 })),
      collect(client.run('work', { limit: 1, idleTimeout: 10_000 })),
    ]);
    expect(sink).toHaveLength(5);
    expect(sink).toEqual(expect.arrayContaining([{ a: 1 }, 2, 'three', { four: 4 }, 'keyed']));
    expect(work).toEqual([7]);
  });

  it('redrive moves the DLQ back to the stage, which then processes it; the first stage has none', async () => {
    const client = emptyClient(domains.redrive);
    const d = ['--domain', domains.redrive];
    await sendRaw(`${domains.redrive}-sink-dlq.fifo`, '{"v":1,"id":"dead-1","p":0,"d":"revived"}');
    expect(oneLine(await ok(['redrive', 'sink', ...d]))).toBe(
      `moved 1 message from ${domains.redrive}-sink-dlq.fifo to stage sink`,
    );
    const [again, none] = await Promise.all([
      ok(['redrive', 'sink', ...d, '--json']),
      cli(['redrive', 'gen', ...d]),
      collect(client.run('sink', { limit: 1, idleTimeout: 10_000 })).then((got) =>
        expect(got).toEqual(['revived']),
      ),
    ]);
    expect(JSON.parse(again)).toMatchObject({ moved: 0 });
    // The first stage (the source) has no queues, so no DLQ: a usage error, naming the stages that have one.
    expect(none.code).toBe(2);
    expect(oneLine(none.stderr)).toBe(
      `Stage \`gen\` of domain \`${domains.redrive}\` has no queues: its stages with queues are \`work\`, \`sink\` (a pipeline's first stage has none, unless registered with \`input: true\`). A stage's queues are created when that stage runs, or when the library's client.enqueue() is called`,
    );
  });

  it("purge --stage empties only that stage's queues", async () => {
    const d = domains.stage;
    expect(
      oneLine((await ok(['purge', '--stage', 'work', '--domain', d, '--json'])).replace(/\s+/g, '')),
    ).toBe(JSON.stringify({ purged: [`${d}-work-p0.fifo`, `${d}-work-p1.fifo`, `${d}-work-dlq.fifo`] }));
    expect(JSON.parse(await ok(['status', '--domain', d, '--json']))).toEqual(
      backlogRows(d).map((r) => (r.stage === 'work' ? { ...r, visible: 0 } : r)),
    );
  });

  it("purge and destroy touch only the domain's exact queues; destroy needs --yes without a terminal", async () => {
    const { a, b } = domains;
    const purged = await ok(['purge', '--domain', a]);
    expect(purged.trim().split('\n').sort()).toEqual(
      backlogRows(a)
        .map((r) => `purged ${r.queue}`)
        .sort(),
    );
    expect(JSON.parse(await ok(['status', '--domain', a, '--json']))).toEqual(
      backlogRows(a).map((r) => ({ ...r, visible: 0 })),
    );
    const others = async () => {
      for (const other of [b, domains.x]) {
        expect(JSON.parse(await ok(['status', '--domain', other, '--json']))).toEqual(backlogRows(other));
      }
    };
    await others();

    const refused = await cli(['destroy', '--domain', a]);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(
      `Refusing to delete 5 queues of domain ${a} without confirmation: stdin is not a terminal, pass --yes`,
    );
    expect(JSON.parse(await ok(['status', '--domain', a, '--json']))).toHaveLength(5);

    const deleted = JSON.parse(await ok(['destroy', '--yes', '--domain', a, '--json'])) as {
      deleted: string[];
    };
    expect(deleted.deleted.sort()).toEqual(
      backlogRows(a)
        .map((r) => r.queue)
        .sort(),
    );
    for (const r of backlogRows(a)) {
      await expect(raw.send(new GetQueueUrlCommand({ QueueName: r.queue }))).rejects.toBeInstanceOf(
        QueueDoesNotExist,
      );
    }
    expect(JSON.parse(await ok(['status', '--domain', a, '--json']))).toEqual([]);
    await others();
  });

  it('prints its version; a usage error is one line on stderr naming the flag and the help, exit code 2', async () => {
    const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
    const [printed, none, unknown, max] = await Promise.all([
      cli(['--version']),
      cli([]),
      cli(['status', '--domain', base, '--oldest']),
      cli(['peek', 'work', '--domain', base, '--max', 'abc']),
    ]);
    expect(printed).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect([none, unknown, max].map((r) => [r.code, r.stdout])).toEqual([
      [2, ''],
      [2, ''],
      [2, ''],
    ]);
    expect(oneLine(none.stderr)).toBe(
      'Give a command: status, purge, destroy, enqueue, redrive, peek, iam-policy, scaling, lambda, replies, dashboard or payloads (see sqspipes --help)',
    );
    expect(oneLine(unknown.stderr)).toBe('Unknown option --oldest (see sqspipes status --help)');
    expect(oneLine(max.stderr)).toBe(
      '--max must be an integer from 1 to 10, got "abc" (see sqspipes peek --help)',
    );
  });

  it('reports usage errors and SQS failures in one line, with exit codes 2 and 1', async () => {
    const [missing, badDomain, badOption, both, unreachable, verbose] = await Promise.all([
      cli(['status']),
      cli(['status', '--domain', 'a.b']),
      cli(['enqueue', 'sink', '1', '--domain', base, '--priority', 'high']),
      cli(['peek', 'work', '--domain', base, '--dlq', '--level', '1']),
      cli(['status', '--domain', base, '--endpoint', 'http://127.0.0.1:1']),
      cli(['status', '--domain', base, '--endpoint', 'http://127.0.0.1:1', '--verbose']),
    ]);
    expect([missing, badDomain, badOption, both].map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(oneLine(missing.stderr)).toBe(
      "--domain is required: give the pipeline's domain (see sqspipes status --help)",
    );
    expect(oneLine(badDomain.stderr)).toBe(
      '--domain must be letters, digits, _ and -, got "a.b" (see sqspipes status --help)',
    );
    expect(oneLine(badOption.stderr)).toBe(
      '--priority must be an integer from 0 to 15, got "high" (see sqspipes enqueue --help)',
    );
    expect(oneLine(both.stderr)).toBe('Give --dlq or --level, not both (see sqspipes peek --help)');
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable.stderr)).toMatch(/ECONNREFUSED/);
    expect(unreachable.stdout).toBe('');
    expect(verbose.code).toBe(1);
    expect(verbose.stderr.trim().split('\n').length).toBeGreaterThan(1);
  });
});

describe('operator CLI: enqueue into a stage ordered by key', () => {
  const client = testClient('opkey', [
    { name: 'gen', method: () => null },
    { name: 'ordered', method: (x: unknown) => x, group: (x: { user: string }) => x.user },
  ]);
  const raw = rawClient();
  const d = ['--domain', client.domain];
  const queue = `${client.domain}-ordered-p0.fifo`;

  beforeAll(() => client.createQueues());
  afterAll(() => raw.destroy());

  const queueUrl = async () => (await raw.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl ?? '';

  /** Receives and deletes `count` messages of `queue`: each message group's, in its order. */
  async function receive(count: number): Promise<{ group: string; key: unknown; value: unknown }[]> {
    const QueueUrl = await queueUrl();
    const got: { group: string; key: unknown; value: unknown }[] = [];
    for (let tries = 0; got.length < count && tries < 20; tries++) {
      const out = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      for (const m of out.Messages ?? []) {
        const body = JSON.parse(m.Body ?? '') as { k?: unknown; d: unknown };
        got.push({ group: m.Attributes?.MessageGroupId ?? '', key: body.k, value: body.d });
        // Deleted one by one, so that the group's next message can be received.
        await raw.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    return got;
  }

  it("refuses without --key; with it, each value joins the key's group in order, as TaskClient.enqueue() does", async () => {
    const [refused, empty] = await Promise.all([
      cli(['enqueue', 'ordered', '{"user":"ann","n":0}', ...d]),
      cli(['enqueue', 'ordered', '{"user":"ann","n":0}', '--key', '', ...d]),
    ]);
    expect([refused.code, empty.code]).toEqual([2, 2]);
    expect(oneLine(refused.stderr)).toBe(
      'Stage `ordered` orders its inputs by key (its `group` option): give --key with the key its group function returns for these values',
    );
    expect(oneLine(empty.stderr)).toBe('--key needs a value (see sqspipes enqueue --help)');
    expect((await queueDepths(raw, await queueUrl())).visible).toBe(0);

    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ user: 'ann', n: i + 1 }));
    const sent: unknown = JSON.parse(
      await ok(['enqueue', 'ordered', '-', '--key', 'ann', '--json', ...d], { stdin: lines.join('\n') }),
    );
    expect(sent).toMatchObject({ queue, sent: 12, key: 'ann' });
    // A key SQS does not take as a group id (a space, non-ASCII) goes by its hash, as in the library.
    expect(oneLine(await ok(['enqueue', 'ordered', '{"user":"bé b","n":1}', '--key', 'bé b', ...d]))).toBe(
      `sent 1 message to ${queue} with key "bé b"`,
    );
    await client.enqueue('ordered', { user: 'ann', n: 13 });
    await client.enqueue('ordered', { user: 'bé b', n: 2 });

    const got = await receive(15);
    const groups = [...new Set(got.map((m) => m.group))].sort();
    expect(groups).toHaveLength(2);
    expect(groups).toContain('ann');
    const of = (group: string) => got.filter((m) => m.group === group);
    expect(of('ann')).toEqual(
      Array.from({ length: 13 }, (_, i) => ({ group: 'ann', key: 'ann', value: { user: 'ann', n: i + 1 } })),
    );
    const other = groups.find((g) => g !== 'ann') ?? '';
    expect(other).toMatch(/^h:/);
    expect(of(other).map((m) => [m.key, m.value])).toEqual([
      ['bé b', { user: 'bé b', n: 1 }],
      ['bé b', { user: 'bé b', n: 2 }],
    ]);
  });
});

describe('operator CLI: peek --dlq shows why each message is in the dead-letter queue', () => {
  const client = testClient('opdlq', [
    { name: 'gen', method: () => null },
    {
      name: 'fail',
      method: (x: string) => {
        throw new Error(`no ${x} today`);
      },
      retries: 0,
    },
  ]);
  const raw = rawClient();
  const d = ['--domain', client.domain];

  afterAll(() => raw.destroy());

  /** Receives the one message of `url` (visibility 0) until SQS's redrive policy has moved it. */
  async function receiveUntilMoved(url: string): Promise<void> {
    for (let receives = 0; receives <= 20; receives++) {
      const out = await raw.send(
        new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
      if ((out.Messages ?? []).length === 0) return;
    }
    throw new Error(`SQS did not move the message of ${url} after 20 receives`);
  }

  it('the reason sqspipes recorded, or that SQS moved it after its maxReceiveCount', async () => {
    // A message whose process died with it at every receive: SQS's redrive policy moves it.
    await client.enqueue('fail', 'stuck');
    const queues = await client.queues();
    const input = queues.find((q) => q.stage === 'fail' && q.level === 0)?.url ?? '';
    const dlq = queues.find((q) => q.stage === 'fail' && q.level === 'dlq')?.url ?? '';
    // The peek that brings it to the last receive its queue allows (retries 0) says so.
    const budget = 1 + REDRIVE_SLACK;
    for (let i = 1; i < budget; i++) {
      await raw.send(
        new ReceiveMessageCommand({ QueueUrl: input, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
    }
    const last = await cli(['peek', 'fail', ...d]);
    expect(last.code).toBe(0);
    expect(last.stderr).toMatch(
      new RegExp(
        `\\nWarning: message \\S+ of \\S+-fail-p0\\.fifo has now been received ${budget} times, the most its queue allows: SQS moves it`,
      ),
    );
    await receiveUntilMoved(input);
    expect((await queueDepths(raw, dlq)).visible).toBe(1);
    // Before a run of its stage sweeps the dead-letter queue: no reason, and that SQS moved it.
    const moved = (await ok(['peek', 'fail', '--dlq', ...d])).trim();
    expect(moved).toMatch(
      /^dlq {2}id=\S+ {2}level=0 {2}receives=\d+ {2}reason="moved by SQS after \d+ receives \(no reason recorded\)" {2}"stuck"$/,
    );
    // A message whose call failed its last attempt: sqspipes moves it and records why.
    await client.enqueue('fail', 'boom');
    const reasons: string[] = [];
    client.on('deadLettered', (info) => reasons.push(info.reason));
    // The run also sweeps its dead-letter queue: it records why SQS moved `stuck`.
    expect(await collect(client.run('fail', { idleTimeout: 1000 }))).toEqual([]);
    expect(reasons).toHaveLength(2);

    const peeked = JSON.parse(await ok(['peek', 'fail', '--dlq', '--json', ...d])) as {
      value: string;
      deadLetterReason: string;
      reasonRecorded: boolean;
    }[];
    const byValue = new Map(peeked.map((m) => [m.value, m]));
    expect(peeked).toHaveLength(2);
    expect(byValue.get('boom')).toMatchObject({
      deadLetterReason: expect.stringMatching(/no boom today/) as unknown,
      reasonRecorded: true,
    });
    expect(byValue.get('stuck')).toMatchObject({
      deadLetterReason: expect.stringMatching(
        /^moved to the dead-letter queue by SQS after \d+ receives \(maxReceiveCount 100\)/,
      ) as unknown,
      reasonRecorded: true,
    });
    const lines = (await ok(['peek', 'fail', '--dlq', ...d])).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.endsWith('"boom"'))).toMatch(
      /^dlq {2}id=\S+ {2}level=0 {2}receives=\d+ {2}reason=".*no boom today.*" {2}"boom"$/,
    );
    expect(lines.find((l) => l.endsWith('"stuck"'))).toMatch(
      /^dlq {2}id=\S+ {2}level=0 {2}receives=\d+ {2}reason="moved to the dead-letter queue by SQS after \d+ receives .*" {2}"stuck"$/,
    );
  });
});
