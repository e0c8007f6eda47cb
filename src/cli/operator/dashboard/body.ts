/**
 * A request's body, which no endpoint of the dashboard uses: read and thrown away, up to a cap,
 * so that a keep-alive connection can carry the next request and a huge body costs nothing.
 */
import type { IncomingMessage } from 'node:http';

/** The largest body the dashboard reads (and discards); a larger one is answered 413. */
export const MAX_BODY_BYTES = 16 * 1024;

/** What became of a body: read whole, over the cap (reading stopped), or cut by the client. */
export type BodyOutcome = 'read' | 'too-large' | 'failed';

/** Reads and discards `request`'s body; resolves (never rejects) with what became of it. */
export function discardBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyOutcome> {
  const announced = Number(request.headers['content-length'] ?? 0);
  if (announced > limit) return Promise.resolve('too-large');
  if (request.complete) return Promise.resolve('read');
  return new Promise<BodyOutcome>((resolve) => {
    let bytes = 0;
    const settle = (outcome: BodyOutcome) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onError);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) settle('too-large');
    };
    const onEnd = () => settle('read');
    const onError = () => settle('failed');
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onError);
  });
}
