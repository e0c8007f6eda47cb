/**
 * The photo pipeline (stages.ts) with `resize` on AWS Lambda: app.ts bundles this file as the
 * function, whose handler is `handler` below; its SQS event source mappings read resize's queues.
 * Create the queues before deploying (the mappings need them), then run the other stages as
 * processes, one stage per process, as in the other examples:
 *
 *   node pipeline.ts create-queues
 *   node pipeline.ts fetch --limit 100
 *   node pipeline.ts index 4 --idle-timeout 60s
 *
 * (`resize` can run as a process too, `node pipeline.ts resize 8`, beside or instead of Lambda:
 * they share its queues.) In a clone of this repository, `npm run build` first and write
 * `npx node` for `node`; in your project, Node ≥ 22.18 runs this .ts file as is. SQSPIPES_DOMAIN
 * (default `photos`) names the queues, as it does for the function (app.ts sets it there).
 */
import { realpathSync } from 'node:fs';
import { TaskClient } from 'sqspipes';
import { DOMAIN, LAMBDA_STAGE, stages } from './stages.ts';

const client = new TaskClient({ domain: DOMAIN });
client.registerTasks(stages);

/** Lambda's entry point: one invocation per batch of up to 10 records of one of resize's queues. */
export const handler = client.lambda(LAMBDA_STAGE);

// `node pipeline.ts create-queues`, or `node pipeline.ts <stage> [workers] [flags]`, only when run
// as a script (not in Lambda, where this file is bundled and imported by the runtime).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename) {
  if (process.argv[2] === 'create-queues') {
    try {
      await client.createQueues(); // resize's queue of timers too, which its mappings read
    } finally {
      await client.close();
    }
  } else {
    await client.main(process.argv.slice(2));
  }
}
