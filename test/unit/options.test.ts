import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  OutputError,
  type StageEntry,
  TaskClient,
  type TaskClientOptions,
  UnknownStageError,
} from '../../src/index.ts';
import { resolveClientOptions } from '../../src/client-options.ts';
import { DELETE_TIMING_OPTION } from '../../src/time/domain-timers.ts';
import { SETTLE_MS_OPTION } from '../../src/queues/provisioner.ts';

// Validation only: nothing here may touch the network. The endpoint is a closed port (discard,
// 9) so that a check that wrongly happened after connecting would fail with a network error.
const ENDPOINT = 'http://127.0.0.1:9';
const offline = { endpoint: ENDPOINT, region: 'us-east-1' } as const;

function generate() {
  return 1;
}
function reduce(x: unknown) {
  return x;
}
function count(x: unknown) {
  return x;
}

/** A client with a three-stage pipeline: generate → reduce (4 levels) → count. */
function pipeline(): TaskClient {
  return new TaskClient({ domain: 'vowels', ...offline }).registerTasks([
    generate,
    { method: reduce, priorities: 4 },
    count,
  ]);
}

/** Passes `value` as untyped code would (the checks exist for JavaScript callers). */
function untyped<T>(value: unknown): T {
  return value as T;
}

/** The ConfigError `act` throws, checked to name every fragment. */
function configError(act: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    act();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
}

describe('TaskClient options', () => {
  it('accepts a valid configuration without connecting', () => {
    const client = new TaskClient({ domain: 'ok_Domain-1', ...offline });
    expect(client.domain).toBe('ok_Domain-1');
    expect(client.stats().requests).toEqual({});
  });

  it("takes the testing kit's queue settle time under its symbol key, checked", () => {
    expect(resolveClientOptions({ domain: 'd', [SETTLE_MS_OPTION]: 0 }).settleMs).toBe(0);
    expect(resolveClientOptions({ domain: 'd' }).settleMs).toBeUndefined();
    expect(() => resolveClientOptions({ domain: 'd', [SETTLE_MS_OPTION]: -1 })).toThrow(/queue settle time/);
  });

  it('takes the hold and sweep period of payload deletes under their symbol key, checked', () => {
    const timing = { holdSeconds: 0, everyMs: 100 };
    expect(resolveClientOptions({ domain: 'd', [DELETE_TIMING_OPTION]: timing }).payloadDeleteTiming).toEqual(
      timing,
    );
    expect(resolveClientOptions({ domain: 'd' }).payloadDeleteTiming).toBeUndefined();
    expect(() =>
      resolveClientOptions({ domain: 'd', [DELETE_TIMING_OPTION]: { holdSeconds: 901, everyMs: 1 } }),
    ).toThrow(/payload delete hold/);
  });

  it('with payloads, refuses a domain whose queue of work for later would be over 80 characters', () => {
    const domain = 'd'.repeat(74);
    expect(() => resolveClientOptions({ domain, payloads: { bucket: 'my-bucket' } })).toThrow(
      new RegExp(`\`${domain}-timers\` is 81 characters.*at most 73 characters`),
    );
    expect(
      resolveClientOptions({ domain: 'd'.repeat(73), payloads: { bucket: 'my-bucket' } }).payloads?.bucket,
    ).toBe('my-bucket');
    expect(resolveClientOptions({ domain }).payloads).toBeUndefined(); // no payloads: no such queue
  });

  it('requires an options object', () => {
    configError(
      () => new TaskClient(untyped<TaskClientOptions>(undefined)),
      'TaskClient options',
      '`undefined` (undefined)',
    );
    configError(() => new TaskClient(untyped<TaskClientOptions>('vowels')), '`"vowels"` (string)');
  });

  it('requires a domain', () => {
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ region: 'us-east-1' })),
      '`domain`',
      '`undefined` (undefined)',
    );
  });

  it.each([
    ['', '`""` (string)'],
    ['my.domain', '`"my.domain"` (string)'],
    ['has space', '`"has space"` (string)'],
    ['a/b', '`"a/b"` (string)'],
    [42, '`42` (number)'],
  ])('rejects domain %j, naming the field and the value', (domain, shown) => {
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ domain })),
      '`domain`',
      'letters, digits',
      shown,
    );
  });

  it('rejects an unknown option key, naming it and the known ones', () => {
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ domain: 'd', regoin: 'eu-west-1' })),
      '`regoin`',
      'TaskClient options',
      '`region`',
    );
  });

  it('rejects an endpoint that is not a URL', () => {
    configError(
      () => new TaskClient({ domain: 'd', endpoint: 'localhost 4566' }),
      '`endpoint`',
      '`"localhost 4566"` (string)',
    );
    configError(() => new TaskClient({ domain: 'd', endpoint: '' }), '`endpoint`', '`""`');
  });

  it('rejects an endpoint without an http(s) scheme or a host, showing an example', () => {
    configError(
      () => new TaskClient({ domain: 'd', endpoint: 'localhost:4566' }),
      '`endpoint`',
      'http://localhost:4566',
      'add the scheme, as in http://localhost:4566',
    );
    configError(() => new TaskClient({ domain: 'd', endpoint: 'ftp://host:21' }), '`endpoint`', 'https://');
    configError(() => new TaskClient({ domain: 'd', endpoint: 'http://' }), '`endpoint`', '`"http://"`');
  });

  it('rejects wrongly typed flags and clients', () => {
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ domain: 'd', ignoreNone: 'no' })),
      '`ignoreNone`',
      '`"no"` (string)',
    );
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ domain: 'd', sqs: {} })),
      '`sqs`',
      'SQSClient',
    );
    configError(
      () => new TaskClient(untyped<TaskClientOptions>({ domain: 'd', logger: console.log })),
      '`logger`',
    );
    configError(() => new TaskClient({ domain: 'd', maxSockets: 0 }), '`maxSockets`', '`0`');
  });
});

describe('registerTasks', () => {
  const client = () => new TaskClient({ domain: 'vowels', ...offline });

  it('accepts bare functions and stage objects, in order, without connecting', () => {
    const c = pipeline();
    expect(c.stageNames).toEqual(['generate', 'reduce', 'count']);
    expect(c.stats().requests).toEqual({});
  });

  it('rejects an empty or missing list', () => {
    configError(() => client().registerTasks([]), '`registerTasks` argument', '`[]`');
    configError(() => client().registerTasks(untyped<StageEntry[]>(undefined)), '`registerTasks` argument');
  });

  it('rejects an entry that is neither a function nor a stage object', () => {
    configError(() => client().registerTasks(untyped<StageEntry[]>([generate, 42])), 'stage #2');
    configError(() => client().registerTasks(untyped<StageEntry[]>([{ name: 'x' }])), '`method` of stage #1');
  });

  it('rejects an anonymous function without a name', () => {
    configError(
      () => client().registerTasks([generate, (x: unknown) => x]),
      'stage #2',
      'give it a `name`',
      '`""` (string)',
    );
  });

  it('accepts an anonymous function with a name', () => {
    expect(
      client().registerTasks([generate, { method: (x: unknown) => x, name: 'anon' }]).stageNames,
    ).toEqual(['generate', 'anon']);
  });

  it.each(['bad name', 'dots.not.allowed', 'ümlaut', 'slash/'])(
    'rejects the stage name %j, naming it',
    (name) => {
      configError(
        () => client().registerTasks([generate, { method: reduce, name }]),
        'stage #2',
        JSON.stringify(name),
      );
    },
  );

  it('rejects a function whose own name is not a valid queue-name part', () => {
    const $weird = (x: unknown) => x;
    configError(() => client().registerTasks([generate, $weird]), 'stage #2', '`"$weird"`');
  });

  it('rejects duplicate stage names', () => {
    configError(
      () => client().registerTasks([generate, reduce, { method: count, name: 'reduce' }]),
      '`reduce`',
      'registered twice',
    );
  });

  it.each([
    [0, '`0` (number)'],
    [1.5, '`1.5` (number)'],
    ['x', '`"x"` (string)'],
    [-1, '`-1` (number)'],
    [Number.NaN, '(number)'],
  ])('rejects workers %j, naming the stage and the value', (workers, shown) => {
    configError(
      () => client().registerTasks([generate, { method: reduce, workers: untyped(workers) }]),
      '`workers` of stage `reduce`',
      'an integer from 1',
      shown,
    );
  });

  it.each([
    [0, '`0` (number)'],
    [17, '`17` (number)'],
    [2.5, '`2.5` (number)'],
  ])('rejects priorities %j (allowed: 1 to 16)', (priorities, shown) => {
    configError(
      () => client().registerTasks([generate, { method: reduce, priorities }]),
      '`priorities` of stage `reduce`',
      'from 1 to 16',
      shown,
    );
  });

  it('accepts priorities 1 and 16', () => {
    expect(() =>
      client().registerTasks([
        generate,
        { method: reduce, priorities: 1 },
        { method: count, priorities: 16 },
      ]),
    ).not.toThrow();
  });

  it('rejects interval on a stage other than the first', () => {
    configError(
      () => client().registerTasks([generate, { method: reduce, interval: 100 }]),
      '`interval` of stage `reduce`',
      'first stage only',
    );
    configError(
      () => client().registerTasks([generate, { method: reduce, interval: () => 100 }]),
      '`interval` of stage `reduce`',
    );
  });

  it('accepts interval on the first stage, as a number or a function; rejects a negative one', () => {
    expect(() => client().registerTasks([{ method: generate, interval: 100 }, reduce])).not.toThrow();
    expect(() => client().registerTasks([{ method: generate, interval: () => 5 }, reduce])).not.toThrow();
    configError(
      () => client().registerTasks([{ method: generate, interval: -1 }, reduce]),
      '`interval` of stage `generate`',
      '`-1`',
    );
  });

  it('rejects an unknown stage option key', () => {
    configError(
      () => client().registerTasks([generate, untyped<StageEntry>({ method: reduce, worker: 2 })]),
      '`worker`',
      'stage `reduce`',
    );
  });

  it('rejects at registration a domain and stage whose queue name exceeds 80 characters', () => {
    const domain = 'd'.repeat(60);
    const stage = 'r'.repeat(15);
    const long = new TaskClient({ domain, ...offline });
    function g() {
      return 1;
    }
    // `<domain>-rrr…-p0.fifo` is 84 characters; the source's names are short enough.
    configError(
      () => long.registerTasks([g, { method: reduce, name: stage }]),
      `${domain}-${stage}-`,
      '80',
      `stage \`${stage}\``,
    );
    expect(long.stageNames).toEqual([]);
    expect(long.stats().requests).toEqual({});
  });

  it('counts the highest priority level in the queue-name length', () => {
    // domain (60) + stage (10) + `-` + `-p15.fifo` = 80: fits; one more character does not.
    const fits = new TaskClient({ domain: 'd'.repeat(60), ...offline });
    expect(() =>
      fits.registerTasks([generate, { method: reduce, name: 's'.repeat(10), priorities: 16 }]),
    ).not.toThrow();
    const over = new TaskClient({ domain: 'd'.repeat(61), ...offline });
    configError(
      () => over.registerTasks([generate, { method: reduce, name: 's'.repeat(10), priorities: 16 }]),
      '-p15.fifo',
      '81 characters',
    );
  });
});

describe('run() options', () => {
  it('throws UnknownStageError synchronously, before iterating, listing the known stages', () => {
    const client = pipeline();
    let caught: unknown;
    try {
      client.run('reduc');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnknownStageError);
    expect((caught as UnknownStageError).stage).toBe('reduc');
    expect((caught as Error).message).toContain('`reduc`');
    expect((caught as Error).message).toContain('`generate`, `reduce`, `count`');
    expect(client.stats().requests).toEqual({});
  });

  it('throws a ConfigError when no stages were registered', () => {
    const client = new TaskClient({ domain: 'vowels', ...offline });
    configError(() => client.run('reduce'), 'registerTasks');
  });

  it('returns a generator without connecting when the options are valid', async () => {
    const client = pipeline();
    const run = client.run('reduce', { workers: 3, limit: 5, idleTimeout: 100, minPriority: 1 });
    expect(client.stats().requests).toEqual({});
    await run.return(undefined); // never started: nothing to stop, nothing sent
    expect(client.stats().requests).toEqual({});
  });

  it.each([
    [0, '`0` (number)'],
    [1.5, '`1.5` (number)'],
    ['2', '`"2"` (string)'],
  ])('rejects workers %j', (workers, shown) => {
    configError(
      () => pipeline().run('reduce', { workers: untyped(workers) }),
      "`workers` of run('reduce')",
      shown,
    );
  });

  it('rejects minPriority > maxPriority', () => {
    configError(
      () => pipeline().run('reduce', { minPriority: 2, maxPriority: 1 }),
      "`maxPriority` of run('reduce')",
      'from 2 to 3',
      '`1` (number)',
    );
  });

  it('rejects min/maxPriority outside the stage levels', () => {
    configError(() => pipeline().run('reduce', { maxPriority: 4 }), "`maxPriority` of run('reduce')", '`4`');
    configError(
      () => pipeline().run('reduce', { minPriority: -1 }),
      "`minPriority` of run('reduce')",
      '`-1`',
    );
    configError(
      () => pipeline().run('count', { minPriority: 1 }),
      "`minPriority` of run('count')",
      'from 0 to 0',
    );
  });

  it('rejects the priority option on a stage other than the first', () => {
    configError(
      () => pipeline().run('reduce', { priority: 1 }),
      "`priority` of run('reduce')",
      'first stage only',
    );
    configError(() => pipeline().run('count', { priority: () => 0 }), "`priority` of run('count')");
  });

  it("rejects a source priority outside the next stage's levels, naming that stage", () => {
    configError(
      () => pipeline().run('generate', { priority: 4 }),
      "`priority` of run('generate')",
      'from 0 to 3',
      '`reduce`',
      '`4` (number)',
    );
    configError(() => pipeline().run('generate', { priority: -1 }), '`-1`');
    configError(() => pipeline().run('generate', { priority: 1.5 }), '`1.5`');
    expect(() => pipeline().run('generate', { priority: 3 })).not.toThrow();
  });

  it('rejects other bad values and unknown keys', () => {
    configError(() => pipeline().run('reduce', { limit: 0 }), "`limit` of run('reduce')", '`0`');
    configError(
      () => pipeline().run('reduce', { idleTimeout: -5 }),
      "`idleTimeout` of run('reduce')",
      '`-5`',
    );
    configError(() => pipeline().run('reduce', { args: untyped('x') }), "`args` of run('reduce')", '`"x"`');
    configError(
      () => pipeline().run('reduce', { signal: untyped({ aborted: false }) }),
      "`signal` of run('reduce')",
      'AbortSignal',
    );
    configError(() => pipeline().run('reduce', untyped({ limt: 3 })), '`limt`', '`run` options');
  });
});

describe('enqueue() validation happens before connecting', () => {
  it('rejects enqueueing into the first stage', async () => {
    const client = pipeline();
    const sent = client.enqueue('generate', 1);
    await expect(sent).rejects.toBeInstanceOf(ConfigError);
    await expect(sent).rejects.toThrow(/`generate` is the source/);
    expect(client.stats().requests).toEqual({});
  });

  it('rejects an unknown stage with UnknownStageError', async () => {
    const client = pipeline();
    const sent = client.enqueue('nope', 1);
    await expect(sent).rejects.toBeInstanceOf(UnknownStageError);
    await expect(sent).rejects.toThrow(/`nope`/);
  });

  it.each([
    [4, '`4` (number)'],
    [-1, '`-1` (number)'],
    [0.5, '`0.5` (number)'],
    ['1', '`"1"` (string)'],
  ])('rejects priority %j outside the stage levels (0 to 3)', async (priority, shown) => {
    const client = pipeline();
    const sent = client.enqueue('reduce', 'x', { priority: untyped(priority) });
    await expect(sent).rejects.toBeInstanceOf(ConfigError);
    await expect(sent).rejects.toThrow("`priority` of enqueue('reduce')");
    await expect(sent).rejects.toThrow('from 0 to 3');
    await expect(sent).rejects.toThrow(shown);
    expect(client.stats().requests).toEqual({});
  });

  it('rejects priority 1 on a stage with one level', async () => {
    await expect(pipeline().enqueue('count', 'x', { priority: 1 })).rejects.toThrow(
      /`priority` of enqueue\('count'\).*from 0 to 0/,
    );
  });

  it('rejects an empty id and unknown option keys', async () => {
    await expect(pipeline().enqueue('reduce', 'x', { id: '' })).rejects.toThrow(
      /`id` of enqueue\('reduce'\)/,
    );
    await expect(pipeline().enqueue('reduce', 'x', untyped({ prio: 1 }))).rejects.toThrow(/`prio`/);
  });

  it('rejects a value JSON cannot carry with OutputError', async () => {
    const sent = pipeline().enqueue('reduce', { n: 10n });
    await expect(sent).rejects.toBeInstanceOf(OutputError);
    await expect(sent).rejects.toThrow(/BigInt/);
  });
});
