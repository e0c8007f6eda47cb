import { KmsAccessDenied, QueueDoesNotExist, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError, OutputError } from '../../src/index.ts';
import { checkEndpointUrl, chooseEndpoint, type SqsTarget, targetOf } from '../../src/sqs/connect.ts';
import { diagnose, diagnoser, OPERATOR_CLI_SETTINGS, type SqsCall } from '../../src/sqs/diagnose.ts';
import { SqsIo } from '../../src/sqs/sqs-io.ts';

// The SDK's errors as it throws them (see test/integration/connection-errors.test.ts for the
// ones a server can produce here); AWS-only answers (credentials, permissions) are built by hand.

const local: SqsTarget = { endpoint: 'http://127.0.0.1:1', source: 'option', region: 'us-east-1' };
const fromEnv: SqsTarget = {
  endpoint: 'http://sqs.test:9324',
  source: 'AWS_ENDPOINT_URL_SQS',
  region: 'eu-west-1',
};
const aws: SqsTarget = { endpoint: undefined, source: 'default', region: 'eu-west-1' };
const noRegion: SqsTarget = { endpoint: undefined, source: 'default', region: undefined };
const creating: SqsCall = { step: 'creating queues', action: 'GetQueueUrl', queue: 'app-reduce-p0.fifo' };

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, $metadata: { attempts: 5 } });
}

function serviceError(name: string, message: string, status = 400): SQSServiceException {
  return new SQSServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: status } });
}

/** The ConnectionError `diagnose` makes, checked to name every fragment and keep the cause. */
function diagnosed(
  error: unknown,
  target: SqsTarget,
  call: SqsCall,
  ...fragments: string[]
): ConnectionError {
  const result = diagnose(error, target, call);
  expect(result).toBeInstanceOf(ConnectionError);
  const connection = result as ConnectionError;
  for (const fragment of fragments) expect(connection.message).toContain(fragment);
  expect(connection.cause).toBe(error);
  expect(connection.step).toBe(call.step);
  expect(connection.action).toBe(call.action);
  return connection;
}

describe('diagnose', () => {
  it('names the endpoint, its source, the region, the step and the fix of a refused connection', () => {
    const error = networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1');
    const found = diagnosed(
      error,
      local,
      creating,
      'connect ECONNREFUSED 127.0.0.1:1',
      'http://127.0.0.1:1',
      '`endpoint` option',
      'us-east-1',
      'creating queues',
      'GetQueueUrl',
      'running',
    );
    expect(found.problem).toBe('unreachable');
    expect(found.code).toBe('ECONNREFUSED');
    expect(found.endpointSource).toBe('option');
    expect(found.queue).toBe('app-reduce-p0.fifo');
  });

  it('names the environment variable an endpoint came from', () => {
    const error = networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND sqs.test');
    diagnosed(error, fromEnv, creating, 'http://sqs.test:9324', 'AWS_ENDPOINT_URL_SQS', 'eu-west-1', 'host');
  });

  it("says when AWS's default endpoint is used, so that a forgotten endpoint shows", () => {
    const error = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    const call: SqsCall = { step: 'receiving', action: 'ReceiveMessage', queue: 'https://q' };
    const found = diagnosed(
      error,
      aws,
      call,
      "AWS's default",
      'AWS_ENDPOINT_URL_SQS',
      'eu-west-1',
      'receiving',
    );
    expect(found.problem).toBe('unreachable');
  });

  it('suggests http:// when a TLS handshake fails', () => {
    const error = networkError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number');
    diagnosed(error, { ...local, endpoint: 'https://localhost:4566' }, creating, 'TLS', 'http://');
  });

  it('reports an answer that is not from SQS (an HTML page) with its HTTP status', () => {
    const error = Object.assign(new SyntaxError(`Unexpected token '<', "<html>" is not valid JSON`), {
      $metadata: { httpStatusCode: 404 },
    });
    const found = diagnosed(error, fromEnv, creating, 'not an SQS', 'HTTP 404', 'AWS_ENDPOINT_URL_SQS');
    expect(found.problem).toBe('not-sqs');
  });

  it("reports the SDK's UnknownError (an answer without an error code) as not from SQS", () => {
    const found = diagnosed(serviceError('Unknown', 'UnknownError', 404), local, creating, 'HTTP 404');
    expect(found.problem).toBe('not-sqs');
  });

  it('reports a missing region with where to set it', () => {
    const found = diagnosed(
      new Error('Region is missing'),
      noRegion,
      creating,
      'region',
      'AWS_REGION',
      '`region`',
    );
    expect(found.problem).toBe('no-region');
  });

  it('reports missing credentials with where to set them', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const found = diagnosed(error, local, creating, 'credentials', 'AWS_ACCESS_KEY_ID', 'AWS_PROFILE');
    expect(found.problem).toBe('no-credentials');
  });

  it('tells a library user the settings TaskClientOptions has: `credentials`, or a client of their own as `sqs`', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    diagnosed(error, aws, creating, 'the `credentials` option', '`sqs`', 'AWS_PROFILE');
  });

  it("gives the operator CLI's fixes in its flags, and no `credentials` option it does not have", () => {
    const cli = (error: unknown, target: SqsTarget): string => {
      const result = diagnose(error, target, creating, OPERATOR_CLI_SETTINGS);
      expect(result).toBeInstanceOf(ConnectionError);
      const { message } = result as ConnectionError;
      expect(message).not.toMatch(/`(credentials|region|endpoint|sqs)`|option/);
      return message;
    };
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(cli(missing, aws)).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    for (const code of ['InvalidClientTokenId', 'SignatureDoesNotMatch']) {
      expect(cli(serviceError(code, 'The security token is invalid.', 403), aws)).toMatch(/AWS_/);
    }
    expect(cli(new Error('Region is missing'), noRegion)).toMatch(/--region or AWS_REGION.*--endpoint/);
    expect(cli(networkError('ECONNREFUSED', 'connect ECONNREFUSED'), local)).toContain(
      'http://127.0.0.1:1 (from --endpoint)',
    );
    expect(cli(networkError('ETIMEDOUT', 'connect ETIMEDOUT'), aws)).toContain(
      '--endpoint or AWS_ENDPOINT_URL_SQS',
    );
  });

  it.each([
    ['InvalidClientTokenId', 'access key'],
    ['UnrecognizedClientException', 'access key'],
    ['SignatureDoesNotMatch', 'secret'],
    ['ExpiredToken', 'expired'],
  ])('reports rejected credentials (%s) with what to check', (name, fix) => {
    const found = diagnosed(
      serviceError(name, 'The security token is invalid.', 403),
      aws,
      creating,
      name,
      fix,
    );
    expect(found.problem).toBe('bad-credentials');
    expect(found.code).toBe(name);
  });

  it('reads the code a query-compatible error carries in `Code`', () => {
    const error = Object.assign(serviceError('UnrecognizedClientException', 'denied', 403), {
      Code: 'ExpiredToken',
    });
    expect(diagnosed(error, aws, creating, 'expired').code).toBe('ExpiredToken');
  });

  it.each(['AccessDenied', 'AccessDeniedException'])(
    'reports %s naming the IAM action and the queue',
    (name) => {
      const call: SqsCall = {
        step: 'sending',
        action: 'SendMessageBatch',
        queue: 'https://sqs/app-count-p0.fifo',
      };
      const found = diagnosed(
        serviceError(name, 'not authorized', 403),
        aws,
        call,
        'sqs:SendMessage',
        'app-count-p0.fifo',
        'sending',
      );
      expect(found.problem).toBe('access-denied');
    },
  );

  it('reports a KMS key the identity cannot use', () => {
    const error = new KmsAccessDenied({ message: 'no', $metadata: {} });
    diagnosed(error, aws, creating, 'KMS', 'kmsKeyId');
  });

  it('passes through what is not a setup problem, and sqspipes errors', () => {
    const missing = new QueueDoesNotExist({ message: 'no queue', $metadata: {} });
    const own = new OutputError('count', 'too big');
    const aborted = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const throttled = serviceError('RequestThrottled', 'slow down', 400);
    for (const error of [missing, own, aborted, throttled, 'text']) {
      expect(diagnose(error, local, creating)).toBe(error);
    }
  });
});

describe('chooseEndpoint', () => {
  it('prefers the option, then AWS_ENDPOINT_URL_SQS, then AWS_ENDPOINT_URL, then AWS default', () => {
    const env = { AWS_ENDPOINT_URL_SQS: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:2' };
    expect(chooseEndpoint('http://o:3', env)).toEqual({ endpoint: 'http://o:3', source: 'option' });
    expect(chooseEndpoint(undefined, env)).toEqual({
      endpoint: 'http://a:1',
      source: 'AWS_ENDPOINT_URL_SQS',
    });
    expect(chooseEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://b:2' })).toEqual({
      endpoint: 'http://b:2',
      source: 'AWS_ENDPOINT_URL',
    });
    expect(chooseEndpoint(undefined, {})).toEqual({ endpoint: undefined, source: 'default' });
    const ignored = { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' };
    expect(chooseEndpoint(undefined, ignored)).toEqual({ endpoint: undefined, source: 'default' });
  });

  it('rejects an endpoint from the environment without a scheme, naming the variable', () => {
    const act = () => chooseEndpoint(undefined, { AWS_ENDPOINT_URL: 'localhost:4566' });
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/AWS_ENDPOINT_URL \(an environment variable\).*http:\/\/localhost:4566/);
  });

  it('accepts http and https URLs with a host only', () => {
    expect(checkEndpointUrl('`endpoint`', 'https://sqs.eu-west-1.amazonaws.com')).toBe(
      'https://sqs.eu-west-1.amazonaws.com',
    );
    for (const bad of ['localhost:4566', 'ftp://host', 'http://', 'file:///tmp/x', 'localhost']) {
      expect(() => checkEndpointUrl('`endpoint`', bad)).toThrow(ConfigError);
    }
    expect(() => checkEndpointUrl('`endpoint`', 'localhost:4566')).toThrow(
      'add the scheme, as in http://localhost:4566',
    );
  });
});

describe('targetOf', () => {
  it("reads a given client's own endpoint and region; sqspipes' own client's from its option", async () => {
    const given = new SQSClient({ region: 'eu-west-1', endpoint: 'http://localhost:4566' });
    expect(await targetOf(given, undefined, true)).toEqual({
      endpoint: 'http://localhost:4566',
      source: 'client',
      region: 'eu-west-1',
    });
    const own = new SQSClient({ region: 'us-east-2', endpoint: 'http://127.0.0.1:9' });
    expect(await targetOf(own, 'http://127.0.0.1:9', false)).toEqual({
      endpoint: 'http://127.0.0.1:9',
      source: 'option',
      region: 'us-east-2',
    });
    given.destroy();
    own.destroy();
  });
});

describe('SqsIo surfaces failures for good diagnosed', () => {
  /** A client whose calls fail with `errors`, in turn, then succeed (what SQS says is not at stake). */
  function failingClient(...errors: Error[]): SQSClient {
    const send = (command: { input: { Entries?: { Id: string }[] } }) => {
      const error = errors.shift();
      if (error !== undefined) return Promise.reject(error);
      return Promise.resolve({ Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })) });
    };
    return { send } as unknown as SQSClient;
  }
  const noCredentials = () =>
    Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });

  it('names the step and the queue of a send, delete or receive that failed for good', async () => {
    const io = new SqsIo(failingClient(noCredentials(), noCredentials(), noCredentials()), {
      sendLingerMs: 1,
      ackLingerMs: 1,
      diagnose: diagnoser(local),
    });
    const message = { body: '1', groupId: 'g', deduplicationId: 'd' };
    const sending = await io.send('https://q/out.fifo', message).catch((error: unknown) => error);
    expect(sending).toBeInstanceOf(ConnectionError);
    expect((sending as ConnectionError).message).toMatch(
      /while sending \(SendMessageBatch on https:\/\/q\/out.fifo\)/,
    );
    const deleting = await io.delete('https://q/in.fifo', { receiptHandle: 'r' }).catch((e: unknown) => e);
    expect(deleting).toMatchObject({
      step: 'deleting',
      action: 'DeleteMessageBatch',
      problem: 'no-credentials',
    });
    const receiving = await io.receive('https://q/in.fifo', 1, 1, 30).catch((e: unknown) => e);
    expect(receiving).toMatchObject({
      step: 'receiving',
      action: 'ReceiveMessage',
      queue: 'https://q/in.fifo',
    });
  });

  it('still retries a transient failure: a refused connection that recovers is no error', async () => {
    const refused = networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1');
    const io = new SqsIo(failingClient(refused), { sendLingerMs: 1, diagnose: diagnoser(local) });
    await expect(
      io.send('https://q/out.fifo', { body: '1', groupId: 'g', deduplicationId: 'd' }),
    ).resolves.toEqual({
      Id: '0',
    });
  });
});
