/**
 * `sqspipes lambda`, driven as a user (or deployment code) would: a spawned process. It takes the
 * pipeline from --stages and calls no SQS, so no queue is made here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childEnv } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));

async function cli(
  args: readonly string[],
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv({ AWS_REGION: 'eu-west-1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stdout, stderr };
}

describe('operator CLI: lambda', () => {
  const args = ['lambda', '--domain', 'shop', '--stages', 'gen,work:2,store', '--stage', 'work'];

  it('prints the JSON of the mappings on stdout, the note of a MaximumConcurrency raised to 2 on stderr', async () => {
    const { code, stdout, stderr } = await cli([
      ...args,
      '--json',
      '--account',
      '123456789012',
      '--max-concurrency',
      '1',
    ]);
    expect(code, stderr).toBe(0);
    const json = JSON.parse(stdout) as {
      functionName: string;
      maxFunctionTimeoutSeconds: number;
      mappings: { queueArn: string; maximumConcurrency?: number }[];
    };
    expect(json.functionName).toBe('shop-work');
    expect(json.maxFunctionTimeoutSeconds).toBe(30);
    expect(json.mappings.map((m) => m.queueArn)).toEqual(
      ['work-p0.fifo', 'work-p1.fifo', 'work-later'].map(
        (q) => `arn:aws:sqs:eu-west-1:123456789012:shop-${q}`,
      ),
    );
    expect(json.mappings.map((m) => m.maximumConcurrency)).toEqual([2, 2, undefined]);
    expect(stderr).toMatch(/^maxConcurrency 1 cannot be a mapping's MaximumConcurrency/);
  });

  it('prints the text with the commands; refuses the source with exit code 2', async () => {
    const text = await cli(args);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.match(/^ {2}aws lambda create-event-source-mapping /gm)).toHaveLength(3);
    expect(text.stderr).toBe('');
    const source = await cli(['lambda', '--domain', 'shop', '--stages', 'gen,work', '--stage', 'gen']);
    expect(source.code).toBe(2);
    expect(source.stdout).toBe('');
    expect(source.stderr).toMatch(/^--stage "gen" is the first stage \(the source\)/);
  });
});
