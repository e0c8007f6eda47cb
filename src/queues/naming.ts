import { ConfigError } from '../errors.ts';

/** SQS's limit on a queue name, `.fifo` included. */
export const MAX_QUEUE_NAME = 80;

/** The message attribute in which sqspipes records why it moved a message to a dead-letter queue. */
export const REASON_ATTRIBUTE = 'sqspipes-reason';

/** Highest number of priority levels a stage may have. */
export const MAX_PRIORITIES = 16;

/** Input queue of `stage` at priority `level`: `<domain>-<stage>-p<level>.fifo`. */
export function inputQueueName(domain: string, stage: string, level: number): string {
  return `${domain}-${stage}-p${level}.fifo`;
}

/** The stage whose input queue `url` (or name) is, in `domain`; throws for any other queue. */
export function stageOfInput(domain: string, url: string): string {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const match = /^(.+)-p\d+\.fifo$/.exec(name);
  const prefix = `${domain}-`;
  if (match?.[1]?.startsWith(prefix) !== true)
    throw new Error(`${name} is no input queue of domain ${domain}`);
  return match[1].slice(prefix.length);
}

/** Dead-letter queue of `stage`: `<domain>-<stage>-dlq.fifo`. */
export function deadLetterQueueName(domain: string, stage: string): string {
  return `${domain}-${stage}-dlq.fifo`;
}

/** Throws at registration when a queue name of this stage would exceed SQS's 80 characters. */
export function checkQueueNamesFit(domain: string, stage: string, priorities: number): void {
  const names = [inputQueueName(domain, stage, priorities - 1), deadLetterQueueName(domain, stage)];
  for (const name of names) {
    if (name.length > MAX_QUEUE_NAME) {
      throw new ConfigError(
        `Queue name \`${name}\` of stage \`${stage}\` is ${name.length} characters, over SQS's limit of ${MAX_QUEUE_NAME}: shorten the domain (\`${domain}\`) or the stage name`,
      );
    }
  }
}

/** Tags put on every queue, so that operators find a domain's queues exactly (never by prefix). */
export const TAG = {
  domain: 'sqspipes:domain',
  stage: 'sqspipes:stage',
  /** Position of the stage in the pipeline (1 for the first stage with an input). */
  index: 'sqspipes:index',
  role: 'sqspipes:role',
  level: 'sqspipes:level',
  /**
   * `true` when the stage orders its inputs by key (it has a `group` function), else `false`, as
   * it was when the queue was created: sqspipes sets tags only then (a queue made before this
   * tag existed has none). The operator CLI refuses to enqueue into a keyed stage without a key.
   */
  keyed: 'sqspipes:keyed',
} as const;

/** The tags of a stage's queue. */
export function queueTags(
  domain: string,
  stage: { readonly name: string; readonly index: number; readonly group: unknown },
  role: 'input' | 'dlq',
  level?: number,
): Record<string, string> {
  return {
    [TAG.domain]: domain,
    [TAG.stage]: stage.name,
    [TAG.index]: String(stage.index),
    [TAG.role]: role,
    ...(level === undefined ? {} : { [TAG.level]: String(level) }),
    [TAG.keyed]: String(stage.group !== undefined),
  };
}
