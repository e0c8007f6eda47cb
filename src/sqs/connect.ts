import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

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

/**
 * Creates the SQS client sqspipes owns: keep-alive sockets sized for long polls (the SDK's
 * default of 50 runs out), a request timeout above the 20 s long poll, and the SDK's own
 * region, endpoint and credential resolution unless given.
 */
export async function createSqsClient(options: ConnectOptions): Promise<SQSClient> {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  const config: SQSClientConfig = {
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
    }),
    // Send to the configured endpoint, not the host inside queue URLs (emulators return
    // unresolvable hosts such as sqs.us-east-1.localhost).
    useQueueUrlAsEndpoint: false,
    // Throttling, 5xx and resets are retried by the SDK first (then by sqspipes, for as long as
    // it takes); five attempts ride out short bursts without surfacing an error.
    maxAttempts: 5,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const region = options.region ?? (await resolveRegion(options.endpoint));
  return new SQSClient({ ...config, ...(region === undefined ? {} : { region }) });
}

/** The SDK's region, or `us-east-1` when there is none but an endpoint is set. */
async function resolveRegion(endpoint: string | undefined): Promise<string | undefined> {
  const probe = new SQSClient({});
  try {
    return await probe.config.region();
  } catch {
    const env = process.env;
    const hasEndpoint = endpoint ?? env['AWS_ENDPOINT_URL_SQS'] ?? env['AWS_ENDPOINT_URL'];
    return hasEndpoint === undefined ? undefined : LOCAL_REGION;
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
