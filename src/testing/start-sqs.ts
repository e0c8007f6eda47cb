import type * as localstackModule from '@testcontainers/localstack';
import type * as fauxqsModule from 'fauxqs';

/**
 * An SQS for tests: fauxqs in this process (the default), LocalStack in Docker through
 * testcontainers, or any running endpoint. One environment variable switches the backend of the
 * same test: `SQSPIPES_TEST_ENDPOINT=http://host:port` (any endpoint) or
 * `SQSPIPES_TEST_BACKEND=localstack` (or `fauxqs`), as this project's own integration tests do.
 */

type Fauxqs = typeof fauxqsModule;
type Localstack = typeof localstackModule;

/** Where the test SQS runs. */
export type SqsBackend = 'fauxqs' | 'localstack' | 'endpoint';

/** The LocalStack image `startSqs({ backend: 'localstack' })` runs unless told otherwise. */
export const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0';

/** Options of {@link startSqs}. */
export interface StartSqsOptions {
  /**
   * Which SQS to start (or use). An explicit value wins over the environment.
   * @default `endpoint` when SQSPIPES_TEST_ENDPOINT is set, else SQSPIPES_TEST_BACKEND, else `fauxqs`
   */
  backend?: SqsBackend;
  /** The endpoint of backend `endpoint`. @default SQSPIPES_TEST_ENDPOINT */
  endpoint?: string;
  /** AWS region the clients sign for. @default AWS_REGION, else `us-east-1` */
  region?: string;
  /** LocalStack image. @default SQSPIPES_LOCALSTACK_IMAGE, else {@link LOCALSTACK_IMAGE} */
  image?: string;
  /** Where the SQSPIPES_TEST_* variables are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A running test SQS: pass `endpoint`, `region` and `credentials` to a client. */
export interface TestSqs {
  readonly backend: SqsBackend;
  /** For a log line, e.g. `fauxqs (embedded)` or `LocalStack localstack/localstack:4.14.0`. */
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  /** Test credentials (emulators accept any). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Stops what `startSqs()` started (nothing for `endpoint`). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const BACKENDS: readonly SqsBackend[] = ['fauxqs', 'localstack', 'endpoint'];

/**
 * Starts an SQS for tests (see the module's comment for the environment switch). Fails with one
 * sentence when fauxqs is not installed (`npm i -D fauxqs`) or, for LocalStack, when no Docker
 * engine answers.
 */
export async function startSqs(options: StartSqsOptions = {}): Promise<TestSqs> {
  const env = options.env ?? process.env;
  const region = options.region ?? nonEmpty(env['AWS_REGION']) ?? 'us-east-1';
  const backend = chooseBackend(options, env);
  if (backend === 'endpoint') {
    const endpoint = options.endpoint ?? nonEmpty(env['SQSPIPES_TEST_ENDPOINT']);
    if (endpoint === undefined) {
      throw new TypeError(
        "startSqs({ backend: 'endpoint' }) needs an endpoint: pass `endpoint`, or set SQSPIPES_TEST_ENDPOINT",
      );
    }
    return testSqs('endpoint', `endpoint ${endpoint}`, endpoint, region, async () => {});
  }
  if (backend === 'localstack')
    return startLocalstack(
      options.backend === undefined
        ? 'SQSPIPES_TEST_BACKEND=localstack'
        : "startSqs({ backend: 'localstack' })",
      options.image ?? nonEmpty(env['SQSPIPES_LOCALSTACK_IMAGE']) ?? LOCALSTACK_IMAGE,
      region,
      env,
    );
  return startFauxqsServer(region);
}

/**
 * Whether a Docker engine answers here (testcontainers' own check), for `it.skipIf` around a
 * LocalStack test. False too when testcontainers is not installed.
 */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

function chooseBackend(options: StartSqsOptions, env: NodeJS.ProcessEnv): SqsBackend {
  if (options.backend !== undefined) {
    if (!BACKENDS.includes(options.backend)) {
      throw new TypeError(
        `Expected \`backend\` to be "fauxqs", "localstack" or "endpoint", got \`${String(options.backend)}\``,
      );
    }
    return options.backend;
  }
  if (options.endpoint !== undefined || nonEmpty(env['SQSPIPES_TEST_ENDPOINT']) !== undefined)
    return 'endpoint';
  const chosen = nonEmpty(env['SQSPIPES_TEST_BACKEND']) ?? 'fauxqs';
  if (chosen !== 'fauxqs' && chosen !== 'localstack') {
    throw new TypeError(
      `SQSPIPES_TEST_BACKEND must be "fauxqs" or "localstack", got "${chosen}" (or set SQSPIPES_TEST_ENDPOINT)`,
    );
  }
  return chosen;
}

async function startFauxqsServer(region: string): Promise<TestSqs> {
  let fauxqs: Fauxqs;
  try {
    fauxqs = await import('fauxqs');
  } catch (error) {
    throw quietError(
      'startSqs() runs fauxqs in this process by default, and fauxqs is not installed here: `npm i -D fauxqs` (or set SQSPIPES_TEST_ENDPOINT to an SQS endpoint)',
      error,
    );
  }
  const server = await fauxqs.startFauxqs({ port: 0, logger: false, defaultRegion: region });
  return testSqs('fauxqs', 'fauxqs (embedded)', `http://127.0.0.1:${server.port}`, region, () =>
    server.stop(),
  );
}

/** Starts LocalStack through testcontainers; `asked` is how the test asked for it (the option or the variable). */
async function startLocalstack(
  asked: string,
  image: string,
  region: string,
  env: NodeJS.ProcessEnv,
): Promise<TestSqs> {
  const dockerless = `${asked} starts LocalStack in Docker, and no Docker engine answers here: start Docker, or run LocalStack yourself and set SQSPIPES_TEST_ENDPOINT=http://localhost:4566`;
  if (!(await dockerAvailable())) throw quietError(dockerless);
  let localstack: Localstack;
  try {
    localstack = await import('@testcontainers/localstack');
  } catch (error) {
    throw quietError(
      `${asked} needs testcontainers' LocalStack module: \`npm i -D @testcontainers/localstack\``,
      error,
    );
  }
  const token = nonEmpty(env['LOCALSTACK_AUTH_TOKEN']);
  const container = new localstack.LocalstackContainer(image).withEnvironment({
    SERVICES: 'sqs,s3',
    ...(token === undefined ? {} : { LOCALSTACK_AUTH_TOKEN: token }),
  });
  const started = await container.start();
  return testSqs('localstack', `LocalStack ${image}`, started.getConnectionUri(), region, async () => {
    await started.stop();
  });
}

function testSqs(
  backend: SqsBackend,
  name: string,
  endpoint: string,
  region: string,
  stop: () => Promise<void>,
): TestSqs {
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= stop());
  return {
    backend,
    name,
    endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** An error that prints as its one sentence, without a stack trace. */
function quietError(message: string, cause?: unknown): Error {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.stack = `Error: ${message}`;
  return error;
}
