import { describe, expect, it } from 'vitest';
import { createSqsClients } from '../../src/sqs/connect.ts';

describe('createSqsClients', () => {
  it('makes a twin for message calls whose middleware the SDK caches, on the same sockets, endpoint, region and credentials', async () => {
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const { sqs, messages } = await createSqsClients({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:1',
      credentials,
      maxSockets: 8,
    });
    try {
      expect(messages.config.cacheMiddleware).toBe(true);
      expect(sqs.config.cacheMiddleware).not.toBe(true); // receives pass a signal: no cache to empty
      expect(messages.config.requestHandler).toBe(sqs.config.requestHandler);
      expect(await messages.config.region()).toBe('eu-west-1');
      expect(await messages.config.endpoint?.()).toEqual(await sqs.config.endpoint?.());
      expect(await messages.config.credentials()).toMatchObject(credentials);
      // No logger given: the SDK's logger middleware (a copy of every request and response) is gone.
      for (const client of [sqs, messages])
        expect(client.middlewareStack.identify().some((m: string) => m.startsWith('loggerMiddleware'))).toBe(
          false,
        );
    } finally {
      messages.destroy();
      sqs.destroy();
    }
  });
});
