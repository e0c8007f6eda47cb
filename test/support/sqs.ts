import { randomBytes } from 'node:crypto';
import {
  DeleteQueueCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  QueueDoesNotExist,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, inject } from 'vitest';

/** Connection settings of the backend the global setup started, for clients and child processes. */
export function backendEnv(): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: inject('sqsEndpoint'),
    region: inject('sqsRegion'),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** Environment for a child process so that the SDK inside it reaches the same backend. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { endpoint, region, credentials } = backendEnv();
  return {
    ...process.env,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...extra,
  };
}

export function rawClient(): SQSClient {
  const { endpoint, region, credentials } = backendEnv();
  return new SQSClient({ endpoint, region, credentials });
}

/** Whether a queue named `name` exists (GetQueueUrl answers). */
export async function queueExists(sqs: SQSClient, name: string): Promise<boolean> {
  try {
    await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    return true;
  } catch (error) {
    if (error instanceof QueueDoesNotExist) return false;
    throw error;
  }
}

/** A queue-name prefix no other test (or earlier run) uses: `t` + time + random, letters and digits only. */
export function uniquePrefix(label: string): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}${label}`.slice(0, 40);
}

/** Deletes every queue whose name starts with `prefix` (test prefixes are unique, so this is exact). */
export async function deleteQueuesWithPrefix(client: SQSClient, prefix: string): Promise<void> {
  const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000 }));
  await Promise.all(
    (listed.QueueUrls ?? []).map((QueueUrl) => client.send(new DeleteQueueCommand({ QueueUrl }))),
  );
}

/** A unique queue-name prefix whose queues are all deleted after the current test file. */
export function testDomain(label: string): string {
  const prefix = uniquePrefix(label);
  afterAll(async () => {
    const raw = rawClient();
    await deleteQueuesWithPrefix(raw, prefix);
    raw.destroy();
  });
  return prefix;
}
