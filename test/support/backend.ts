/**
 * Chooses the SQS-compatible server the integration tests run against:
 * - default: fauxqs, embedded in this process on a free loopback port;
 * - `SQSPIPES_TEST_ENDPOINT=http://host:port`: any running endpoint (LocalStack, moto, ElasticMQ, AWS);
 * - `SQSPIPES_TEST_BACKEND=localstack`: LocalStack in Docker through testcontainers.
 */
export interface Backend {
  /** Shown at the start of the run, e.g. `fauxqs 2.4.1 (embedded)`. */
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  stop(): Promise<void>;
}

export const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0';

export async function startBackend(env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const region = env['AWS_REGION'] ?? 'us-east-1';
  const endpoint = env['SQSPIPES_TEST_ENDPOINT'];
  if (endpoint !== undefined && endpoint !== '') {
    const name = env['SQSPIPES_TEST_BACKEND_NAME'] ?? 'external endpoint';
    return { name, endpoint, region, stop: async () => {} };
  }
  const choice = env['SQSPIPES_TEST_BACKEND'] ?? 'fauxqs';
  if (choice === 'fauxqs') return startFauxqsBackend(region);
  if (choice === 'localstack') return startLocalstackBackend(env, region);
  throw new Error(
    `SQSPIPES_TEST_BACKEND must be "fauxqs" or "localstack", got "${choice}" (or set SQSPIPES_TEST_ENDPOINT).`,
  );
}

async function startFauxqsBackend(region: string): Promise<Backend> {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  const version = await packageVersion('fauxqs');
  return {
    name: `fauxqs ${version} (embedded)`,
    endpoint: `http://127.0.0.1:${server.port}`,
    region,
    stop: () => server.stop(),
  };
}

async function startLocalstackBackend(env: NodeJS.ProcessEnv, region: string): Promise<Backend> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    throw quietError(
      'SQSPIPES_TEST_BACKEND=localstack needs a running Docker engine, and none answers here: start Docker, or run LocalStack yourself and set SQSPIPES_TEST_ENDPOINT=http://localhost:4566 instead.',
    );
  }
  const { LocalstackContainer } = await import('@testcontainers/localstack');
  const image = env['SQSPIPES_LOCALSTACK_IMAGE'] ?? LOCALSTACK_IMAGE;
  let container = new LocalstackContainer(image).withEnvironment({ SERVICES: 'sqs,s3' });
  const token = env['LOCALSTACK_AUTH_TOKEN'];
  if (token !== undefined && token !== '') {
    container = container.withEnvironment({ SERVICES: 'sqs,s3', LOCALSTACK_AUTH_TOKEN: token });
  }
  const started = await container.start();
  return {
    name: `LocalStack ${image} (testcontainers)`,
    endpoint: started.getConnectionUri(),
    region,
    stop: async () => {
      await started.stop();
    },
  };
}

async function packageVersion(name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  const pkg: unknown = JSON.parse(await readFile(file, 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** An error that prints as its one sentence, without a stack trace. */
function quietError(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}
