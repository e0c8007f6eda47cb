import { afterAll } from 'vitest';
import { type StageEntry, TaskClient, type TaskClientOptions } from '../../src/index.ts';
import { backendEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from './sqs.ts';

/**
 * A TaskClient on the test backend with a unique domain; its queues are deleted after the file.
 */
export function testClient(
  label: string,
  stages: readonly StageEntry[],
  options: Partial<TaskClientOptions> = {},
): TaskClient {
  const domain = uniquePrefix(label);
  const { endpoint, region, credentials } = backendEnv();
  const client = new TaskClient({ domain, endpoint, region, credentials, ...options });
  client.registerTasks(stages);
  afterAll(async () => {
    await client.close();
    const raw = rawClient();
    await deleteQueuesWithPrefix(raw, domain);
    raw.destroy();
  });
  return client;
}

/** Collects what a run yields. */
export async function collect<T = unknown>(run: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of run) out.push(value as T);
  return out;
}
