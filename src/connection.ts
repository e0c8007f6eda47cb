import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ResolvedClientOptions } from './client-options.ts';
import { loadTelemetry } from './observe/otel-telemetry.ts';
import type { Telemetry } from './observe/telemetry.ts';
import type { ResolvedPayloadOptions } from './payloads/options.ts';
import { DomainTimers, type Timer } from './time/domain-timers.ts';
import { getOrCreate } from './maps.ts';
import { stageOfInput } from './queues/naming.ts';
import { kindPrefix } from './payloads/keys.ts';
import { PayloadIo } from './payloads/payload-io.ts';
import { s3SourceOf } from './payloads/s3-client.ts';
import { PayloadStore } from './payloads/store.ts';
import { Provisioner } from './queues/provisioner.ts';
import { ReplyListener } from './replies/listener.ts';
import {
  countRequests,
  createSqsClients,
  type RequestCounts,
  type SqsTarget,
  targetOf,
} from './sqs/connect.ts';
import { type Diagnose, diagnoser } from './sqs/diagnose.ts';
import { SqsIo } from './sqs/sqs-io.ts';
import { deadline, untilAborted } from './time/deadline.ts';
import type { Logger } from './types.ts';

/** What a client talks to SQS with, made on first use. */
export interface Connection {
  readonly sqs: SQSClient;
  /** The twin of an owned `sqs` for the run's message calls (see createSqsClients). */
  readonly messages?: SQSClient | undefined;
  /** sqspipes made the SQSClient (and destroys it on close), rather than the caller. */
  readonly owned: boolean;
  /** Turns a setup problem (endpoint, region, credentials) into a ConnectionError saying so. */
  readonly diagnose: Diagnose;
  readonly io: SqsIo;
  readonly provisioner: Provisioner;
  /** Follows submitted items (its reply queue is made on the first submit). */
  readonly replies: ReplyListener;
  /** OpenTelemetry spans and metrics, when `@opentelemetry/api` is installed. */
  readonly telemetry: Telemetry;
  /** The domain's queue of deletes of stored bodies, which runs sweep with `payloads`. */
  readonly timers: DomainTimers;
  /** The queue of timers of a stage (`<domain>-<stage>-later`), which its runs sweep. */
  readonly later: (stage: string) => DomainTimers;
  /** The queues of timers made so far (closed with the connection). */
  readonly laters: () => DomainTimers[];
}

/** Makes the connection of a client: its SQSClient (unless given), counted into `requests`. */
export async function connect(
  options: ResolvedClientOptions,
  logger: Logger,
  requests: RequestCounts,
): Promise<Connection> {
  const { sqs: given, region, endpoint, credentials, maxSockets } = options;
  // A client given is used for everything; one sqspipes makes has a twin for message calls.
  const { sqs, messages } =
    given === undefined
      ? await createSqsClients({ region, endpoint, credentials, maxSockets })
      : { sqs: given, messages: undefined };
  const target = await targetOf(sqs, endpoint, given !== undefined);
  if (given === undefined) logConnection(logger, target);
  countRequests(sqs, requests);
  if (messages !== undefined) countRequests(messages, requests);
  const diagnose = diagnoser(target);
  const provisioner = new Provisioner(sqs, { diagnose, logger, settleMs: options.settleMs });
  const { domain, pollWaitSeconds, kmsKeyId, highThroughput } = options;
  const timersOf = (stage?: string) =>
    new DomainTimers({
      sqs,
      provisioner,
      domain,
      kmsKeyId,
      logger,
      stage,
      waitSeconds: pollWaitSeconds,
      timing: options.payloadDeleteTiming,
    });
  const timers = timersOf();
  const laters = new Map<string, DomainTimers>();
  const later = (stage: string) => getOrCreate(laters, stage, () => timersOf(stage));
  const payloads =
    options.payloads === undefined ? undefined : payloadParts(options, sqs, target, timers, logger);
  // A message for later waits in the queue of timers of the stage it is for.
  const sink = {
    at: (timer: Timer, signal?: AbortSignal) => later(stageOfInput(domain, timer.url)).at(timer, signal),
  };
  const io = new SqsIo(sqs, { diagnose, payloads, timers: sink, messages });
  const replies = new ReplyListener({
    sqs,
    io,
    domain,
    logger,
    diagnose,
    waitSeconds: pollWaitSeconds,
    kmsKeyId,
    highThroughput,
    settleMs: options.settleMs,
  });
  return {
    sqs,
    messages,
    owned: given === undefined,
    diagnose,
    io,
    provisioner,
    timers,
    later,
    laters: () => [...laters.values()],
    replies,
    telemetry: await loadTelemetry(),
  };
}

/**
 * Bodies over the threshold through the `payloads` bucket (S3 is loaded on first use), their
 * objects deleted through the domain's queue of work for later once their messages were
 * acknowledged.
 */
function payloadParts(
  options: ResolvedClientOptions,
  sqs: SQSClient,
  target: SqsTarget,
  timers: DomainTimers,
  logger: Logger,
): PayloadIo {
  const resolved = options.payloads as ResolvedPayloadOptions;
  const layout = { prefix: resolved.prefix, domain: options.domain };
  const ours = kindPrefix(layout, 'payload');
  const store: PayloadStore = new PayloadStore({
    options: resolved,
    source: s3SourceOf(sqs, target),
    logger,
    // At once after the acknowledgement (the keys of one DeleteMessageBatch together): a process
    // killed in between leaves its objects to the lifecycle rule.
    deleteDelayMs: 0,
    scheduleDeletes: (bucket, keys) => timers.schedule(bucket, keys),
  });
  timers.deleteWith({
    deleteKeys: (bucket, keys) => store.deleteKeys(bucket, keys),
    owns: (bucket, key) => bucket === resolved.bucket && key.startsWith(ours),
  });
  return new PayloadIo(store, layout, resolved.threshold, resolved.compress);
}

/**
 * Ends a connection within `timeoutMs`: abandons the submissions still awaited (deleting the
 * reply queue), flushes pending requests and closes the SQSClient sqspipes made (not one the
 * caller passed in), whatever failed. Resolves with what SQS did not accept in time, in words.
 */
export async function disconnect(
  connection: Connection,
  timeoutMs: number,
  logger: Logger,
): Promise<string[]> {
  const limit = deadline('close()', timeoutMs);
  const started = Date.now();
  try {
    await untilAborted(connection.replies.close(), limit.signal).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not end the reply queue within sendTimeout');
    });
    const unsent = await connection.io.flush(Math.max(0, timeoutMs - (Date.now() - started)));
    // The stored bodies of what was just acknowledged: their deletes scheduled (best effort).
    await untilAborted(
      Promise.all([connection.timers.close(), ...connection.laters().map((t) => t.close())]),
      limit.signal,
    ).catch((error: unknown) => logger.warn({ err: error }, 'could not send the timers still pending'));
    const stores = connection.io.payloads?.store.close();
    await untilAborted(stores ?? Promise.resolve(), limit.signal).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not schedule the delete of stored bodies: the lifecycle rule will');
    });
    return unsent;
  } finally {
    limit.dispose();
    if (connection.owned) {
      connection.messages?.destroy();
      connection.sqs.destroy();
    }
  }
}

/** Says where the client connects, once, when it is made (never its credentials): `--verbose`. */
function logConnection(logger: Logger, { endpoint, source, region }: SqsTarget): void {
  logger.debug(
    {
      endpoint: endpoint ?? 'AWS default for the region',
      endpointSource: source,
      region: region ?? 'not set',
    },
    'SQS client created',
  );
}
