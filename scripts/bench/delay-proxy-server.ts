/**
 * The delay proxy (delay-proxy.ts) as its own OS process, so that its CPU is not the benchmark's:
 *   node scripts/bench/delay-proxy-server.ts --target http://127.0.0.1:PORT --delay MS
 * Started with an IPC channel: sends `{"port":N}` once it listens on a free port of 127.0.0.1,
 * answers the message "counts" with `{"counts":{…}}` (ProxyCounts), and stops on SIGTERM/SIGINT
 * or when the channel closes (its parent died), so it never outlives the benchmark.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createDelayProxy } from './delay-proxy.ts';

const { values } = parseArgs({ options: { target: { type: 'string' }, delay: { type: 'string' } } });
const delayMs = Number(values.delay);
if (values.target === undefined || !Number.isInteger(delayMs) || delayMs < 0)
  throw new Error('usage: delay-proxy-server.ts --target URL --delay MS');
if (process.send === undefined) throw new Error('delay-proxy-server.ts runs as a child with an IPC channel');
const send = process.send.bind(process);

const proxy = createDelayProxy(values.target, delayMs);
await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
send({ port: (proxy.server.address() as AddressInfo).port });

process.on('message', (message: unknown) => {
  if (message === 'counts') send({ counts: proxy.counts() });
});

/** Stops at once: exiting closes every connection. */
function stop(): void {
  proxy.server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
