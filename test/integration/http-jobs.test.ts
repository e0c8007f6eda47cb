import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StageProcess, startStage } from '../support/spawn.ts';
import { testDomain } from '../support/sqs.ts';

// As in examples.test.ts: `sqspipes-source` resolves the example's 'sqspipes' to src/index.ts.
const SOURCE = ['--conditions=sqspipes-source'];
const HTTP_JOBS = fileURLToPath(new URL('../../examples/http-jobs.ts', import.meta.url));

interface JobView {
  id: string;
  state: 'running' | 'done' | 'failed';
  result?: unknown[];
  error?: { end: string; stage?: string; reason?: string; message: string };
  statuses?: { stage: string; status: string }[];
}

describe('examples/http-jobs.ts', () => {
  const domain = testDomain('httpjobs');
  const env = { SQSPIPES_DOMAIN: domain };
  let stages: StageProcess[] = [];
  let server: StageProcess | undefined;
  let base = '';

  /** `fetch` on the service: the status and the parsed JSON body. */
  async function call(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${base}${path}`, init);
    expect(response.headers.get('content-type')).toBe('application/json');
    return { status: response.status, body: await response.json() };
  }

  async function post(job: unknown, query = '', headers: Record<string, string> = {}): Promise<string> {
    const { status, body } = await call(`/jobs${query}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(job),
    });
    expect(status, JSON.stringify(body)).toBe(202);
    return (body as { id: string }).id;
  }

  async function waitFor(id: string): Promise<JobView> {
    const { status, body } = await call(`/jobs/${id}?wait=1`);
    expect(status).toBe(200);
    return body as JobView;
  }

  beforeAll(async () => {
    // The header's commands: the three stages, then the service on a free port.
    stages = ['split', 'count', 'grade'].map((stage) =>
      startStage(HTTP_JOBS, [stage, '2', '--quiet'], env, SOURCE),
    );
    const started = startStage(HTTP_JOBS, ['serve', '0'], env, SOURCE);
    server = started;
    await started.waitForLines(1);
    const listening = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(started.lines[0]));
    expect(listening, started.stderr()).not.toBeNull();
    base = listening?.[1] ?? '';
  }, 60_000);

  afterAll(() => {
    // Only when a test failed before the SIGTERM test: leave no process behind.
    for (const p of [...stages, server]) if (p?.child.exitCode === null) p.child.kill('SIGKILL');
  });

  it('runs jobs through the stage processes: POST answers 202 { id }, GET ?wait=1 the results', async () => {
    const two = await post({ text: 'Queues are fine. Pipelines are better!' });
    const one = await post({ text: 'One.' }, '?status=1');
    const long = await post({ text: 'This sentence of nine words is fair to read' });
    expect(new Set([two, one, long]).size).toBe(3);

    // At once: running, or already done.
    const now = await call(`/jobs/${two}`);
    expect(now.status).toBe(200);
    expect(['running', 'done']).toContain((now.body as JobView).state);

    expect(await waitFor(two)).toEqual({
      id: two,
      state: 'done',
      result: [
        { sentence: 1, words: 3, letters: 13, grade: 'easy' },
        { sentence: 2, words: 3, letters: 18, grade: 'easy' },
      ],
    });
    expect(await waitFor(long)).toMatchObject({
      state: 'done',
      result: [{ sentence: 1, words: 9, letters: 35, grade: 'fair' }],
    });
    const followed = await waitFor(one);
    expect(followed).toMatchObject({ state: 'done', result: [{ sentence: 1, words: 1, letters: 3 }] });
    // Its progress, as the stages reported it: each stage received it and finished it.
    const steps = (followed.statuses ?? []).map((s) => `${s.stage}:${s.status}`);
    for (const stage of ['split', 'count', 'grade']) {
      expect(steps).toEqual(expect.arrayContaining([`${stage}:received`, `${stage}:finished`]));
    }
    expect(steps.at(-1)).toBe('grade:finished');
    // Once done, a GET without wait gives the same answer.
    expect((await call(`/jobs/${two}`)).body).toMatchObject({ state: 'done' });
  });

  it('a job one stage refuses on every attempt is failed, with the stage and the reason', async () => {
    const bad = await post({ text: `Fine. Then ${'a'.repeat(40)} came.` }, '?status=1');
    const failed = await waitFor(bad);
    expect(failed).toMatchObject({
      id: bad,
      state: 'failed',
      error: { end: 'dead-lettered', stage: 'count' },
    });
    expect(failed.error?.reason).toMatch(/sentence 2: "a{20}…" is not a word \(40 letters\)/);
    const steps = (failed.statuses ?? []).map((s) => `${s.stage}:${s.status}`);
    expect(steps).toContain('count:retrying'); // retries: 1
    expect(steps.at(-1)).toBe('count:dead-lettered');

    // A text without a sentence: split outputs nothing, the job ends there.
    const empty = await post({ text: ' ' });
    expect(await waitFor(empty)).toMatchObject({
      state: 'failed',
      error: { end: 'filtered', stage: 'split' },
    });
  });

  it('the same Idempotency-Key is the same job', async () => {
    const headers = { 'idempotency-key': `${domain}-once` };
    const first = await post({ text: 'Once only.' }, '', headers);
    expect(await post({ text: 'Once only.' }, '', headers)).toBe(first);
    expect(await waitFor(first)).toMatchObject({ state: 'done', result: [{ words: 2 }] });
  });

  it('answers 404 for an unknown job or path, 400 for a body that is not a job', async () => {
    expect(await call('/jobs/no-such-job')).toMatchObject({
      status: 404,
      body: { error: /no job no-such-job/ },
    });
    expect(await call('/jobs/no-such-job?wait=1')).toMatchObject({ status: 404 });
    expect(await call('/elsewhere')).toMatchObject({ status: 404 });
    expect(await call('/jobs', { method: 'POST', body: '{"text": "unclosed' })).toMatchObject({
      status: 400,
      body: { error: /^the body is not JSON: / },
    });
    expect(await call('/jobs', { method: 'POST', body: '{"words": 3}' })).toMatchObject({
      status: 400,
      body: { error: /string `text`/ },
    });
    expect(await call('/jobs', { method: 'DELETE' })).toMatchObject({ status: 405 });
  });

  it('every process stops gracefully on SIGTERM, exit code 0', { timeout: 60_000 }, async () => {
    const all = [...stages, server as StageProcess];
    for (const p of all) p.child.kill('SIGTERM');
    const codes = await Promise.all(all.map((p) => p.exited));
    expect(codes, all.map((p) => p.stderr()).join('\n')).toEqual([0, 0, 0, 0]);
  });
});
