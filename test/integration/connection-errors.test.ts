/**
 * A wrong setup (endpoint, region, credentials) fails the run's first SQS call, queue creation,
 * with a ConnectionError (or a ConfigError) that names the endpoint and where it came from, the
 * region, the step and what to fix: never a stage failure, never the SDK's bare error.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConnectionError,
  type Logger,
  StageError,
  TaskClient,
  type TaskClientOptions,
} from '../../src/index.ts';
import { backendEnv, uniquePrefix } from '../support/sqs.ts';

const stages = [
  { method: () => 1, name: 'generate' },
  { method: (x: unknown) => x, name: 'count' },
];
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Everything in the environment the SDK reads a region, an endpoint or credentials from. */
const AWS_VARIABLES = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
];
const saved = Object.fromEntries(AWS_VARIABLES.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** An environment with no AWS configuration at all: no region, no profile files, no credentials. */
function bareEnvironment(extra: Record<string, string> = {}): void {
  for (const name of AWS_VARIABLES) delete process.env[name];
  process.env['AWS_CONFIG_FILE'] = '/nonexistent/sqspipes-test/config';
  process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/sqspipes-test/credentials';
  Object.assign(process.env, extra);
}

/** The error a run of the source stage ends with (its first SQS calls create the next queue). */
async function runFailure(options: Partial<TaskClientOptions>): Promise<Error> {
  const client = new TaskClient({ domain: uniquePrefix('conn'), ...options }).registerTasks(stages);
  try {
    for await (const _ of client.run('generate', { limit: 1 })) {
      // nothing can arrive
    }
  } catch (error) {
    return error as Error;
  } finally {
    await client.close();
  }
  throw new Error('the run did not fail');
}

function expectConnectionError(error: Error, ...fragments: string[]): ConnectionError {
  expect(error).toBeInstanceOf(ConnectionError);
  expect(error).not.toBeInstanceOf(StageError);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  expect(error.cause).toBeInstanceOf(Error);
  return error as ConnectionError;
}

/** A local server answering every request with an HTML page, as a web server on a wrong port does. */
async function htmlServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    response.writeHead(status, { 'content-type': 'text/html' });
    response.end('<html><body><h1>Not Found</h1></body></html>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('connection errors say what to do', () => {
  it('a closed port: names the endpoint, the option it came from, the region and the step', async () => {
    const logged: { fields: object; message: string | undefined }[] = [];
    const logger: Logger = {
      debug: (fields, message) => logged.push({ fields, message }),
      info: (fields, message) => logged.push({ fields, message }),
      warn() {},
      error() {},
    };
    const endpoint = 'http://127.0.0.1:1';
    const secret = { accessKeyId: 'AKIDNEVERLOGGED', secretAccessKey: 'secret-never-logged' };
    const error = await runFailure({ endpoint, region: 'eu-west-1', credentials: secret, logger });
    const found = expectConnectionError(
      error,
      'ECONNREFUSED',
      'http://127.0.0.1:1 (from the `endpoint` option)',
      'region: eu-west-1',
      'while creating queues',
      'running',
    );
    expect(found).toMatchObject({ problem: 'unreachable', endpointSource: 'option', region: 'eu-west-1' });
    // The client said once, at debug level (`--verbose`), where it connects; never with the credentials.
    const connecting = logged.filter((record) => JSON.stringify(record).includes('endpoint'));
    expect(connecting).toHaveLength(1);
    expect(connecting[0]?.fields).toEqual({ endpoint, endpointSource: 'option', region: 'eu-west-1' });
    expect(JSON.stringify(logged)).not.toMatch(/NEVERLOGGED|never-logged/);
  });

  it('an HTML page at the endpoint: says the answer is not from SQS, naming the variable', async () => {
    const { url, server } = await htmlServer(404);
    try {
      process.env['AWS_ENDPOINT_URL_SQS'] = url;
      const error = await runFailure({ region: 'us-east-1', credentials });
      const found = expectConnectionError(
        error,
        'not an SQS response (HTTP 404)',
        `${url} (from the environment variable AWS_ENDPOINT_URL_SQS)`,
        'while creating queues',
      );
      expect(found.problem).toBe('not-sqs');
    } finally {
      server.close();
    }
  });

  it('an endpoint without a scheme: a ConfigError naming where it was set, with an example', async () => {
    expect(() => new TaskClient({ domain: 'd', endpoint: 'localhost:4566' })).toThrow(
      /`endpoint`.*http:\/\/localhost:4566/,
    );
    process.env['AWS_ENDPOINT_URL_SQS'] = 'localhost:4566';
    const error = await runFailure({ region: 'us-east-1', credentials });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('AWS_ENDPOINT_URL_SQS (an environment variable)');
    expect(error.message).toContain('add the scheme, as in http://localhost:4566');
  });

  it('no region: a ConnectionError saying where to set one, not a stage failure', async () => {
    bareEnvironment();
    const error = await runFailure({ credentials });
    const found = expectConnectionError(
      error,
      'No AWS region is set',
      'region: not set',
      "AWS's default for the region",
      'AWS_REGION',
      'while creating queues',
    );
    expect(found.problem).toBe('no-region');
  });

  it('no credentials: a ConnectionError saying where to set them', async () => {
    bareEnvironment({ AWS_EC2_METADATA_DISABLED: 'true' });
    const { endpoint, region } = backendEnv();
    const error = await runFailure({ endpoint, region });
    const found = expectConnectionError(
      error,
      'No AWS credentials were found',
      `${endpoint} (from the \`endpoint\` option)`,
      `region: ${region}`,
      'AWS_ACCESS_KEY_ID',
      'while creating queues',
    );
    expect(found.problem).toBe('no-credentials');
  });
});
