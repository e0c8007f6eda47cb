/**
 * `npm run demo`: starts the embedded SQS emulator (fauxqs), runs the three stages of
 * examples/vowels.ts as three OS processes on a bounded number of words, prints what the last
 * stage printed, deletes the demo's queues and exits 0. The example imports 'sqspipes', which
 * resolves to this package's dist/: `npm run demo` builds it first.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';

const WORDS = Number(process.env['DEMO_WORDS'] ?? 20);
const script = fileURLToPath(new URL('../examples/vowels.ts', import.meta.url));
const domain = `vowels-demo-${process.pid}`;

if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
  console.error(
    "scripts/demo.ts: dist/index.js is missing, and examples/vowels.ts imports it (as 'sqspipes'): " +
      'run `npm run demo`, which builds first, or `npm run build`.',
  );
  process.exit(1);
}

const server = await startFauxqs({ port: 0, logger: false });
const endpoint = `http://127.0.0.1:${server.port}`;
const env = {
  ...process.env,
  SQSPIPES_DOMAIN: domain,
  AWS_ENDPOINT_URL_SQS: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'demo',
  AWS_SECRET_ACCESS_KEY: 'demo',
};
console.log(`SQS emulator at ${endpoint}; running ${WORDS} words through generate → reduce → count\n`);

function stage(args: string[], show: boolean): Promise<number> {
  const child = spawn(process.execPath, [script, ...args], {
    env,
    stdio: ['ignore', show ? 'inherit' : 'ignore', 'inherit'],
  });
  return once(child, 'exit').then(([code]) => Number(code ?? 1));
}

const started = Date.now();
const limit = ['--limit', String(WORDS), '--idle-timeout', '20000'];
const codes = await Promise.all([
  stage(['generate', '4', '--limit', String(WORDS)], false),
  stage(['reduce', '2', ...limit], false),
  stage(['count', '4', ...limit], true),
]);
console.log(
  `\n${WORDS} words through 3 stage processes in ${Date.now() - started} ms; exit codes ${codes.join(', ')}`,
);

const sqs = new SQSClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
});
const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: domain }));
await Promise.all(QueueUrls.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
sqs.destroy();
await server.stop();
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
