import type { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * A call's abort signal, carried in its command's input rather than in the SDK's per-call options.
 *
 * With `cacheMiddleware`, the SDK builds a command's middleware stack once, but only for calls made
 * without options: any option (an `abortSignal`) rebuilds it, and empties the cache. Building it
 * costs about a seventh of a hand-written loop's CPU per message (scripts/bench/raw-variants.ts).
 * So the clients sqspipes makes pass a call's signal in its input, under a symbol the SDK never
 * serializes; a middleware placed just before the request is sent (after retries and signing)
 * ties it to that request, and the HTTP handler aborts the request with it.
 */
const CALL_SIGNAL = Symbol('sqspipes.callSignal');

/** Requests about to be sent, with the signal of their call. */
const signals = new WeakMap<object, AbortSignal>();

/** `input` with `signal` in it, for a client {@link carrySignals} prepared. */
export function withSignal<I extends object>(input: I, signal: AbortSignal | undefined): I {
  return signal === undefined ? input : { ...input, [CALL_SIGNAL]: signal };
}

/** The HTTP handler of such clients: aborts a request with its call's signal, if it has one. */
export class SignalledHttpHandler extends NodeHttpHandler {
  override handle(
    request: Parameters<NodeHttpHandler['handle']>[0],
    options?: Parameters<NodeHttpHandler['handle']>[1],
  ): ReturnType<NodeHttpHandler['handle']> {
    const signal = signals.get(request);
    return super.handle(request, signal === undefined ? options : { ...options, abortSignal: signal });
  }
}

/** Makes `client` (whose handler is a {@link SignalledHttpHandler}) abort a call with the signal in its input. */
export function carrySignals(client: SQSClient): SQSClient {
  client.middlewareStack.add(
    (next) => (args) => {
      const signal = (args.input as { [CALL_SIGNAL]?: AbortSignal })[CALL_SIGNAL];
      const { request } = args as { request?: unknown };
      if (signal !== undefined && typeof request === 'object' && request !== null)
        signals.set(request, signal);
      return next(args);
    },
    // The last step before the handler: each attempt's signed request passes here.
    { step: 'deserialize', priority: 'low', name: 'sqspipesCallSignal', override: true },
  );
  return client;
}
