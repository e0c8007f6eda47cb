/**
 * The benchmark's SQS emulator as its own OS process: fauxqs on a free port of 127.0.0.1 only.
 *   node scripts/bench/emulator-server.ts
 * Prints `{"port":N}` on stdout once it listens; stops on SIGTERM/SIGINT or when stdin closes
 * (its parent died), so it never outlives the benchmark.
 *
 * fauxqs always asks to listen on 0.0.0.0; the benchmark is loopback-only, so the one `listen`
 * call it makes is pointed at 127.0.0.1 here.
 */
import net from 'node:net';
import { startFauxqs } from 'fauxqs';

// eslint-disable-next-line @typescript-eslint/unbound-method -- applied below with its own `this`
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
  const first = args[0];
  if (typeof first === 'object' && first !== null && 'host' in first) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return (listen as (...a: unknown[]) => net.Server).apply(this, args);
} as typeof listen;

const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 5000);
  force.unref();
  await server.stop().catch(() => {});
  process.exit(0);
}
/** A listener that stops; a stop that fails exits all the same. */
const onStop = (): void => {
  stop().catch(() => process.exit(1));
};
process.on('SIGTERM', onStop);
process.on('SIGINT', onStop);
process.stdin.on('end', onStop);
process.stdin.on('error', onStop);
process.stdin.resume();
