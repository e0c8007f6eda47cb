#!/usr/bin/env node
/**
 * The operator CLI `sqspipes` (the package's `bin`): status, purge, destroy, enqueue, redrive,
 * peek, iam-policy, scaling, lambda, replies and dashboard (a live web page) for the queues of one domain,
 * talking to SQS only; and payloads, which checks the S3 bucket of large bodies. See `sqspipes --help`.
 */
import { runOperatorCli } from './operator/run.ts';

runOperatorCli(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    process.stderr.write(`sqspipes: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(exitOnceFlushed);

/**
 * Ends the process once what it wrote is out. The command is over: a request it gave up on at its
 * deadline (an endpoint that accepts connections and never answers) must not keep it alive.
 */
function exitOnceFlushed(): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit()));
}
