import { ConfigError } from '../errors.ts';
import type { Stage } from '../stage.ts';
import { MAX_WORKERS } from '../stage.ts';
import { checkInteger, checkKeys, fail, isPlainObject } from '../validate.ts';
import type { ResolvedLambdaOptions } from './handler.ts';

/** Calls at once in one invocation by default: every group of a batch of 10. */
export const DEFAULT_LAMBDA_WORKERS = 10;

/**
 * Checks that `stage` can run on Lambda and resolves `client.lambda()`'s options. A source has no
 * input for an event source mapping to read; a scheduled source's ticks come from a process's clock.
 */
export function resolveLambdaOptions(stage: Stage, given: unknown): ResolvedLambdaOptions {
  if (!stage.consumes) {
    throw new ConfigError(
      `Stage \`${stage.name}\` is the pipeline's source: it has no input queue for an SQS event source mapping to read, so it cannot run on Lambda. Run it as a process, or feed the pipeline with enqueue()/submit() from your function`,
    );
  }
  if (stage.schedule !== undefined) {
    throw new ConfigError(
      `Stage \`${stage.name}\` has a \`schedule\`: its ticks come from the clock of a process running it, which Lambda has not. Run it as a process, or drop \`schedule\` and enqueue into it from an EventBridge schedule`,
    );
  }
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`lambda` options', 'an object', options);
  checkKeys('`lambda` options', options, ['workers', 'reserveMs', 'args']);
  const field = (key: string) => `\`${key}\` of lambda('${stage.name}')`;
  const workers = checkInteger(
    field('workers'),
    options['workers'] ?? DEFAULT_LAMBDA_WORKERS,
    1,
    MAX_WORKERS,
  );
  const reserve = options['reserveMs'];
  const reserveMs =
    reserve === undefined ? undefined : checkInteger(field('reserveMs'), reserve, 0, 15 * 60 * 1000);
  const args = options['args'] ?? [];
  if (!Array.isArray(args)) fail(field('args'), 'an array', args);
  return { workers, reserveMs, args };
}
