import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { carrySignals, SignalledHttpHandler } from './call-signal.ts';
import { ConfigError, type EndpointSource } from '../errors.ts';
import { received } from '../validate.ts';

export interface ConnectOptions {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly credentials: SQSClientConfig['credentials'] | undefined;
  readonly maxSockets: number;
}

/** SQS requests made, by API action, counting each HTTP attempt (SQS bills each). */
export type RequestCounts = Map<string, number>;

/** Region used when an endpoint is set but no region can be resolved (a local emulator). */
const LOCAL_REGION = 'us-east-1';

/** The endpoint and region a client talks to, for messages and logs (never its credentials). */
export interface SqsTarget {
  /** The endpoint URL; undefined means AWS's default endpoint for the region. */
  readonly endpoint: string | undefined;
  readonly source: EndpointSource;
  readonly region: string | undefined;
}

/** The environment variables the SDK reads an SQS endpoint from, in its order. */
const ENDPOINT_VARIABLES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL'] as const;

/**
 * The endpoint the SDK will use and where it comes from: the `endpoint` option, else the
 * environment (as the SDK reads it), else AWS's default. An endpoint read from the environment
 * that is not an http(s) URL with a host is a ConfigError naming the variable.
 */
export function chooseEndpoint(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Pick<SqsTarget, 'endpoint' | 'source'> {
  if (option !== undefined) return { endpoint: option, source: 'option' };
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']?.toLowerCase() === 'true') {
    return { endpoint: undefined, source: 'default' };
  }
  for (const name of ENDPOINT_VARIABLES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    return { endpoint: checkEndpointUrl(`${name} (an environment variable)`, value), source: name };
  }
  return { endpoint: undefined, source: 'default' };
}

/** Returns `value` if it is an http:// or https:// URL with a host, else throws a ConfigError. */
export function checkEndpointUrl(field: string, value: unknown): string {
  if (typeof value === 'string' && isHttpUrl(value)) return value;
  const bare = typeof value === 'string' && !value.includes('://') && isHttpUrl(`http://${value}`);
  const hint = bare ? `: add the scheme, as in http://${value}` : '';
  throw new ConfigError(
    `Expected ${field} to be an http:// or https:// URL with a host, such as http://localhost:4566, got ${received(value)}${hint}`,
  );
}

function isHttpUrl(value: string): boolean {
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

/**
 * The target of a client: the endpoint sqspipes gave it (`endpointOption`), or, for a client
 * passed in (`given`), its own; then the environment's or AWS's default. The region is the
 * client's, undefined when it has none.
 */
export async function targetOf(
  sqs: SQSClient,
  endpointOption: string | undefined,
  given: boolean,
): Promise<SqsTarget> {
  const region = await sqs.config.region().catch(() => undefined);
  const own = given && sqs.config.endpoint !== undefined ? await sqs.config.endpoint() : undefined;
  if (own !== undefined) {
    const port = own.port === undefined ? '' : `:${own.port}`;
    const path = own.path === '/' ? '' : own.path;
    return { endpoint: `${own.protocol}//${own.hostname}${port}${path}`, source: 'client', region };
  }
  try {
    return { ...chooseEndpoint(given ? undefined : endpointOption), region };
  } catch {
    return { endpoint: undefined, source: 'default', region }; // the client was made without it
  }
}

/**
 * Creates the SQS client sqspipes owns: keep-alive sockets sized for long polls (the SDK's
 * default of 50 runs out), a request timeout above the 20 s long poll, and the SDK's own
 * region, endpoint and credential resolution unless given.
 */
export async function createSqsClient(options: ConnectOptions): Promise<SQSClient> {
  return quiet(new SQSClient(await sqsConfig(options)));
}

/**
 * Removes the SDK's logger middleware from a client made without a `logger` (its logger then
 * does nothing): it copies every request and response through their schemas to hand them to
 * that logger, about 1.5 % of the CPU per message of a stage.
 */
function quiet(client: SQSClient): SQSClient {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/**
 * The clients of a connection sqspipes owns: `sqs` for setup and admin calls, and `messages`, its
 * twin (same sockets, endpoint, region and credentials) for the run's receives, sends, deletes and
 * visibility changes. `messages` has `cacheMiddleware`: the SDK builds each command's middleware
 * stack once rather than on every call (a seventh of a hand-written loop's CPU per message,
 * scripts/bench/raw-variants.ts). Its calls pass no per-call option, which would empty that cache:
 * a call's abort signal rides in its input instead (see call-signal.ts, `withSignal`). Middleware
 * added to `messages` after its first call of a command is not seen by that command.
 */
export async function createSqsClients(
  options: ConnectOptions,
): Promise<{ sqs: SQSClient; messages: SQSClient }> {
  const config = await sqsConfig(options);
  const sqs = quiet(new SQSClient(config));
  const messages = carrySignals(
    quiet(new SQSClient({ ...config, credentials: sqs.config.credentials, cacheMiddleware: true })),
  );
  return { sqs, messages };
}

async function sqsConfig(options: ConnectOptions): Promise<SQSClientConfig> {
  const { endpoint } = chooseEndpoint(options.endpoint);
  const config: SQSClientConfig = {
    requestHandler: httpHandler(options.maxSockets),
    // Send to the configured endpoint, not the host inside queue URLs (emulators return
    // unresolvable hosts such as sqs.us-east-1.localhost).
    useQueueUrlAsEndpoint: false,
    // Throttling, 5xx and resets are retried by the SDK first (then by sqspipes, for as long as
    // it takes); five attempts ride out short bursts without surfacing an error.
    maxAttempts: 5,
    // No MD5 of every body sent and received: TLS already guards them on the wire, and the
    // hashes cost about 5 % of the CPU per message (scripts/bench/raw-variants.ts).
    md5: false,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const region = options.region ?? (await resolveRegion(endpoint));
  return { ...config, ...(region === undefined ? {} : { region }) };
}

/**
 * The HTTP handler of the clients sqspipes makes (SQS, S3): keep-alive sockets, 5 s to connect,
 * and a request idle for 30 s fails (the socket's idle time, not the transfer's length).
 */
export function httpHandler(maxSockets: number): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets };
  // Not an ESM import: Node would fill in every export of the namespace, loading undici (~10 ms).
  const http = process.getBuiltinModule('node:http');
  const https = process.getBuiltinModule('node:https');
  return new SignalledHttpHandler({
    httpAgent: new http.Agent(agentOptions),
    httpsAgent: new https.Agent(agentOptions),
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    // Without it a request past requestTimeout only logs a warning and waits on: a network that
    // drops packets would hang any call that has no deadline of its own.
    throwOnRequestTimeout: true,
  });
}

/** The SDK's region, or `us-east-1` when there is none but an endpoint is set (option or environment). */
async function resolveRegion(endpoint: string | undefined): Promise<string | undefined> {
  const probe = new SQSClient({});
  try {
    return await probe.config.region();
  } catch {
    return endpoint === undefined ? undefined : LOCAL_REGION;
  } finally {
    probe.destroy();
  }
}

/** Counts every HTTP attempt of every command sent through `client`, by action name. */
export function countRequests(client: SQSClient, counts: RequestCounts): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(action, (counts.get(action) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'sqspipesRequestCounter', override: true },
  );
}
