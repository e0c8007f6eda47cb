import { afterEach } from 'vitest';
import type { TaskClient } from '../../src/index.ts';
import type { LocalEventSource } from '../../src/testing/index.ts';

/** The queues of `stage`'s mappings on Lambda (its input levels and its queue of timers), created. */
export async function mappedQueues(client: TaskClient, stage: string): Promise<string[]> {
  return (await client.lambdaMappings(stage)).map((mapping) => mapping.queueUrl);
}

/** Keeps the local event sources a test starts, and stops them after it (its queues outlive them). */
export function stoppedAfterEach(): (source: LocalEventSource) => LocalEventSource {
  let sources: LocalEventSource[] = [];
  afterEach(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    sources = [];
  });
  return (source) => {
    sources.push(source);
    return source;
  };
}
