/**
 * The operator CLI's yargs parser: its commands, options and help texts. It only reads the line;
 * args.ts checks the values and builds the command.
 */
import yargs, { type Argv } from 'yargs';
import { COMMAND_USAGE } from './commands.ts';
import { dashboardOptions } from './dashboard/options.ts';
import { UsageError } from './errors.ts';
import { LIFECYCLE_EXPIRY_DAYS, QUEUE_RETENTION_DAYS } from '../../payloads/lifecycle.ts';
import { DEFAULT_THRESHOLD_BYTES } from '../../payloads/options.ts';
import { DEFAULT_MAX_REPLICAS, DEFAULT_MIN_REPLICAS, DEFAULT_TARGET_BACKLOG } from './scaling.ts';
import { explainYargsFailure, NO_COMMAND } from './yargs-failure.ts';
import { payloadBucketOptions } from './payload-args.ts';

/** The flags that take no value (`--dlq=yes` is refused rather than read as false). */
export const BOOLEAN_FLAGS = [
  'json',
  'verbose',
  'watch',
  'yes',
  'dlq',
  'remove-stale',
  'actions',
  'keda',
  'cloudwatch',
  'install-lifecycle',
  'help',
  'version',
] as const;

const USAGE =
  "$0 <command> --domain <domain> [options]\n\nOperates the SQS FIFO queues of one sqspipes pipeline (its domain), talking to SQS only. A domain's queues are found by their sqspipes:domain tag, never by name prefix: domain `app` never touches `app2`'s queues. `payloads` works on the S3 bucket of large bodies instead, and needs no --domain.";

const EXIT_CODES = `Exit codes:
  0  done
  1  failure: an SQS or S3 error, a missing dead-letter or input queue or S3 bucket, not confirmed
  2  usage error: a bad command, option or value, or a stage or level with no queues

stdout carries only the command's output; notes and errors go to stderr.`;

const STATUS = `Columns: stage (pipeline order), priority level or dlq, visible, in flight, delayed (SQS's approximate counts, which lag by up to a minute on AWS), queue name. The age of the oldest message is not shown: SQS reports it only as the CloudWatch metric ApproximateAgeOfOldestMessage. With --watch on a terminal the table is redrawn in place; otherwise a new table (with --json, one JSON array per line) is printed per refresh.

When a stage has items for later or fleet-wide limits, a table after it gives, per stage: LATER, its items for later (enqueue or submit with delay or at, delayed() outputs, a join's time limit): the messages of <domain>-<stage>-later, delayed until their next hop or being sent on. When the next one is due is not shown: SQS neither shows a delayed message nor tells when its delay ends, so only the count can be known. RATE IN USE and SLOTS IN USE (a stage with rateLimit or maxConcurrency): permits in use/limit, read from <domain>-<stage>-rate.fifo and -slots.fifo; in use are the permits in flight (slots: calls running now, over every process; rate: calls within the last period), the limit is every permit in the queue. With --json they are the fields later, rate {"inUse", "limit"} and slots {"inUse", "limit"} of the stage's first row, each present only when the stage has that queue.

With --payload-bucket (and --payload-prefix, the pipeline's payloads option), a second table lists each join stage (found under <prefix><domain>/join/ in the bucket, by ListObjectsV2: s3:ListBucket) with its items waiting for branches and how long ago the one folded longest ago was last folded (a join rewrites an item's state on every branch it folds). Up to 10,000 states per stage are read, those of items already joined included: past that the count ends with +. With --json the output is then one object, {"queues": [...], "joins": [{"stage", "waiting", "capped", "oldestFoldedAt"}]}; with --watch the joins are listed again every 10 s at most.`;

const ENQUEUE = `Sends each value as a sqspipes envelope to <domain>-<stage>-p<priority>.fifo, as TaskClient.enqueue() does. The queue must exist: this CLI does not know the pipeline's queue attributes, so it never creates queues; a stage's queues are created when that stage runs, or when the library's client.enqueue() (or client.createQueues()) is called. With -, every non-empty line of stdin is one JSON value; all lines are checked before anything is sent, so a bad line (named in the error) sends nothing.

A stage with a \`group\` option processes the inputs of one key one at a time, in order. This CLI cannot call the group function, so give the key with --key: every value goes to that key's message group, after the key's earlier inputs, and the values are sent one after another, in order. It refuses to enqueue into such a stage without --key (queues created before sqspipes tagged keyed stages cannot tell: then a note asks for --key).

A message is at most 1 MiB (SQS's limit). With --payload-bucket (the pipeline's payloads option), a value whose message is over ${DEFAULT_THRESHOLD_BYTES / 1024} KiB is written to S3 first, at <prefix><domain>/payload/<hash>, and its message carries a pointer to it (AWS's Extended Client format), as TaskClient.enqueue() does with payloads; the stage needs the payloads option to read it. Values over 1 MiB come on stdin (a command-line argument is limited to 128 KiB on Linux). S3 is reached as \`sqspipes payloads\` reaches it.`;

const REDRIVE = `Every stage but the first has a dead-letter queue (the first has no queues): redriving the first is a usage error. Moves the messages that were in the dead-letter queue when it started: one that arrives meanwhile (a redriven input that fails again) stays for the next redrive. Each goes back to the priority level it was sent at (capped at the stage's highest existing level), with a new deduplication id. Prints how many were moved. A message whose body is stored in S3 moves as the pointer it is: redrive needs no S3 access, and the stored body stays where it is.`;

const PEEK = `With --dlq, each message shows why it is there: the reason sqspipes recorded when it moved it (the error of its last attempt, or why its body is not a sqspipes envelope); a message SQS moved itself, after its input's maxReceiveCount, has none recorded: it shows "moved by SQS after N receives" (N counts every receive before this peek, earlier peeks included). With --json, the field deadLetterReason holds that text and reasonRecorded says whether sqspipes recorded it.

A body stored in S3 (a message carrying a pointer, sent with the payloads option or by an AWS Extended Client) shows as where it is: "body stored in S3 at s3://<bucket>/<key> (<n> bytes), not read". With --payload-bucket, peek reads it from S3 (from the bucket the pointer names) and shows it as any other body, with stored=s3://<bucket>/<key>; it never deletes it. With --json, the field stored holds bucket, key, size, read and, when not read, unread (why). An object that is gone shows as not read, saying so; S3 failing as set up (no such bucket, access denied) fails the command (exit code 1).

Peek receives with a visibility timeout of 0, so the messages stay available. Its limits:
- on FIFO queues a receive locks the message's group until its visibility timeout expires; with 0 that is at once, so workers are not held up, but a worker receiving at the same moment can still get the same messages;
- at most 10 messages, one receive per queue; on FIFO queues SQS returns messages of few message groups, so this is a sample, not a listing;
- each peek adds 1 to the receive count of every message it shows. That uses up none of a stage's attempts (sqspipes counts them itself); the receive count matters only to the input queues' redrive policy, SQS's safety net for inputs whose process died, which moves a message to the stage's dead-letter queue once it was received more than retries + 100 times (its maxReceiveCount), peeks included: only a message peeked that often goes there, and a peek that brings one to that limit says so.`;

const IAM = `Prints the policy of one role, granting what its sqspipes calls need and nothing else:
- stage (--stage <name>): the stage's workers. Its input queues: GetQueueUrl, GetQueueAttributes, CreateQueue, TagQueue (queues are created on first use, with tags), SetQueueAttributes (an option changed since: updated in place on start), ReceiveMessage, DeleteMessage, ChangeMessageVisibility. Its dead-letter queue: the same creation actions, SetQueueAttributes and SendMessage. The next stage's input queues: the creation actions and SendMessage. The next stage's dead-letter queue: the creation actions only (the next inputs' redrive policy names it). The reply queues <domain>-reply-*: GetQueueUrl, SendMessage. The first stage (the source) has no queue of its own: only the next stage's.
- producer (--stage <name>, default the first stage with queues): a process that feeds that stage with enqueue() or submit(). Its input queues: the creation actions and SendMessage; its dead-letter queue: the creation actions. The reply queues: the creation actions, ReceiveMessage, DeleteMessage, DeleteQueue (submit() makes its own, refreshes its heartbeat tag, deletes it on close).
- operator: every sqspipes command, and the client's queues(), purge(), destroy(), redrive() and createQueues(). Input and dead-letter queues: the creation actions, SetQueueAttributes (createQueues() updates changed options in place), ListQueueTags, PurgeQueue, DeleteQueue; SendMessage, ReceiveMessage on inputs (enqueue, redrive, peek); ReceiveMessage, DeleteMessage, ChangeMessageVisibility on dead-letter queues (redrive, peek --dlq). Reply queues: ListQueueTags, DeleteQueue (replies --remove-stale). ListQueues on * (it has no queue resource; only the operator lists queues).
With --kms-key <key ARN> (queues encrypted with the client's kmsKeyId), each role also gets kms:GenerateDataKey and kms:Decrypt on that key: sending needs both, receiving Decrypt.
With --payload-bucket <bucket> [--payload-prefix <prefix>] (the client's payloads option: large bodies stored in S3), each role also gets the S3 actions it uses on <prefix>* and the bucket: a producer s3:PutObject, and, since its policy covers submit(), whose results may come back stored, s3:GetObject, s3:DeleteObject, s3:ListBucket and s3:GetLifecycleConfiguration as a stage; the operator s3:PutLifecycleConfiguration too (payloads --install-lifecycle). s3:ListBucket makes S3 answer 404, not 403, for an object that is gone, and lists a join stage's items waiting (status and dashboard --payload-bucket, a join stage's progress line). With --payload-kms-key <key ARN> (a bucket encrypted with SSE-KMS), kms:GenerateDataKey and kms:Decrypt on that key.

By default the pipeline is read from the domain's existing queues (their tags, and the partition, region and account of their ARNs). With --stages it is taken from the line without calling SQS, for queues not created yet: arn:<partition>:sqs:<region>:<account>:<domain>-<stage>-p<level>.fifo and <domain>-<stage>-dlq.fifo for every stage but the first (or, for the dead-letter queues, for --dlq-stages only). A first stage registered with input: true has queues too: give it with :<priorities> (e.g. --stages parse:1,store).`;

const PAYLOADS = `Checks the S3 bucket of large bodies (the client's payloads option) as a stage does when it starts: writes <prefix>sqspipes.check and reads it back, so that a missing bucket, a permission denied (or a KMS key that cannot be used), the bucket in another region, or S3 out of reach is one line naming the bucket, the S3 action and the fix (exit code 1). S3 is reached as the SQS client is: its region and credentials, and its endpoint (--endpoint, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL) unless AWS_ENDPOINT_URL_S3 names another; emulators serve S3 on their SQS endpoint.

Then it reports the lifecycle state of the prefix: ok (a rule expires its objects after ${LIFECYCLE_EXPIRY_DAYS} days or more), missing (no rule does: what a crashed process leaves is never deleted), too-short (a rule expires or archives them while a message may still need them: the queues keep messages ${QUEUE_RETENTION_DAYS} days), or unreadable (the rules cannot be read), with what to do. --install-lifecycle adds sqspipes' rule for the prefix (ID "sqspipes <prefix>": objects expire after ${LIFECYCLE_EXPIRY_DAYS} days, old versions after 1, abandoned uploads after 1), or brings it up to date, keeping the bucket's other rules, and says what it did; it exits 1 if the prefix is still not covered (another rule too short). It needs a --prefix: a rule for the whole bucket would expire every object of it. S3 replaces a bucket's lifecycle configuration as a whole: a change made by someone else between its read and its write is lost.`;

const SCALING = `Prints the autoscaling configuration of every stage with queues (the first stage, the source, has none), so that one stage per process or machine scales with its backlog.
--keda: one KEDA ScaledObject per stage (YAML documents separated by ---), scaling the Deployment --deployment (default <domain>-{stage}) with one aws-sqs-queue trigger per priority queue, queueLength = --target-backlog. KEDA counts visible and in-flight messages; with several priority queues, advanced.scalingModifiers (KEDA 2.12 or later) sums the triggers, since the HPA otherwise follows the largest one. The triggers use the KEDA operator's own AWS identity (identityOwner: operator), or a TriggerAuthentication with --auth-ref; either needs sqs:GetQueueAttributes on the queues. minReplicaCount is 1 by default: at 0 an item waits for KEDA's next poll and a pod's start; give --min-replicas 0 to scale to zero on purpose.
--cloudwatch: a JSON array with one EC2 Auto Scaling target tracking policy per stage, each the input of aws autoscaling put-scaling-policy --cli-input-json, for the Auto Scaling group --group (default <domain>-{stage}): AWS's backlog per instance, the sum of ApproximateNumberOfMessagesVisible of the stage's priority queues divided by the group's GroupInServiceInstances, kept at --target-backlog. The group's minimum size should be at least 1 (with no instance the ratio has no value). Queue URLs and names come from --stages, --account and --region, or from the domain's existing queues.`;

const LAMBDA = `Prints the AWS Lambda event source mappings that run one stage (--stage) on a function (--function, default <domain>-<stage>), read by its handler (TaskClient.lambda): one per priority level's input queue, <domain>-<stage>-p<level>.fifo, and one on the stage's queue of timers, <domain>-<stage>-later (a standard queue: its delayed items and join time limits). Each takes batches of 10 records (a FIFO mapping's maximum) with FunctionResponseTypes ReportBatchItemFailures, and no batching window (FIFO mappings take none). The first stage (the source) has no input queue: none for it. The pipeline comes from --stages; no SQS call is made.

Each level is a mapping of its own: Lambda polls them side by side and keeps no order between them, so a higher level is not taken first. --max-concurrency (the stage's maxConcurrency) sets ScalingConfig.MaximumConcurrency on each input mapping, which applies to that mapping alone; AWS takes 2 to 1000: 1 becomes 2 (a note says how to hold one call at a time), more than 1000 becomes 1000. The function's timeout must not exceed the VisibilityTimeout of any of its queues (Lambda refuses to create the mapping otherwise): SQS's default of 30 s on the input queues, 10 s on the queue of timers as sqspipes makes it. The text lists the aws sqs set-queue-attributes commands that raise them, and the aws lambda create-event-source-mapping commands; queue ARNs and URLs need --account (and a region).

With --json: one object, {"stage", "functionName", "maxFunctionTimeoutSeconds", "mappings": [{"stage", "queueName", "role" ("input" or "later"), "level" (input only), "batchSize", "functionResponseTypes", "maximumConcurrency" (with --max-concurrency, input only), "queueArn" (with --account)}]}, input levels lowest first, then the queue of timers. sqspipes iam-policy --role stage --stage <name> grants the function's role what the mappings need.`;

const REPLIES = `A process that submits items and awaits their results gets its own reply queue, <domain>-reply-<12 characters>.fifo, tagged with the domain, the role reply, its host and pid, and a heartbeat it refreshes every minute while it lives. A reply queue whose heartbeat is older than --stale-after has lost its owner (the process died without deleting it): stale. Columns: queue, host, pid, heartbeat (its age), state (live or stale); with --json, one JSON object per line. Reply queues are found by their tags, never by name prefix alone. Just before deleting a stale queue, --remove-stale reads its heartbeat again and spares it if the owner refreshed it meanwhile. A --stale-after shorter than the owners' heartbeat interval (1 minute) can remove live queues.`;

/** The parser of the operator CLI's command line; `version` is printed by `--version`. */
export function operatorParser(argv: readonly string[], version: string): Argv {
  return commands(globalOptions(yargs([...argv])))
    .demandCommand(1, NO_COMMAND)
    .recommendCommands()
    .epilogue(EXIT_CODES)
    .parserConfiguration({ 'parse-positional-numbers': false })
    .locale('en')
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      throw error ?? new UsageError(explainYargsFailure(message, argv));
    })
    .help('help', 'show this help')
    .alias('help', 'h')
    .version('version', 'print the version of sqspipes', version)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}

function globalOptions(y: Argv): Argv {
  return y
    .scriptName('sqspipes')
    .usage(USAGE)
    .option('domain', {
      type: 'string',
      global: true,
      describe: "required (but for payloads): the pipeline's domain (prefix of its queue names)",
    })
    .option('region', {
      type: 'string',
      global: true,
      describe: "AWS region (default: the SDK's: AWS_REGION, profile; us-east-1 with an endpoint)",
    })
    .option('endpoint', {
      type: 'string',
      global: true,
      describe: "SQS endpoint URL (default: the SDK's: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL)",
    })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'print JSON instead of text' })
    .option('verbose', {
      type: 'boolean',
      global: true,
      default: false,
      describe: 'print the stack of a failure',
    });
}

function commands(y: Argv): Argv {
  return y
    .command(COMMAND_USAGE.status, 'show every queue of the domain with its approximate counts', (c) =>
      c
        .option('watch', {
          type: 'boolean',
          default: false,
          describe: 'refresh until Ctrl-C, with rates (visible messages per second)',
        })
        .option('interval', {
          type: 'string',
          describe: 'milliseconds between refreshes with --watch, 100 to 3600000 (default 2000)',
        })
        .option('count', { type: 'string', describe: 'with --watch: stop after this many refreshes' })
        .options(payloadBucketOptions("list each join stage's items waiting for branches there"))
        .epilogue(STATUS),
    )
    .command(
      COMMAND_USAGE.purge,
      "delete every message of the domain's queues (inputs and dead-letter queues)",
      (c) =>
        c
          .option('stage', { type: 'string', describe: "only this stage's queues" })
          .epilogue(
            'SQS allows one purge per queue every 60 seconds, and may take up to 60 seconds to complete one.',
          ),
    )
    .command(COMMAND_USAGE.destroy, 'delete every queue of the domain', (c) =>
      c
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation' })
        .epilogue(
          'Without --yes it asks on the terminal, and refuses (exit code 2) when stdin is not a terminal. SQS forbids creating a queue of the same name for 60 seconds after deleting it.',
        ),
    )
    .command(COMMAND_USAGE.enqueue, "send values into a stage's input queue", (c) =>
      c
        .positional('stage', { type: 'string', describe: 'the stage whose input receives the values' })
        .positional('value', {
          type: 'string',
          describe: 'one JSON value, or - to read JSON lines from stdin',
        })
        .option('priority', { type: 'string', describe: 'priority level, 0 to 15 (default 0)' })
        .option('id', {
          type: 'string',
          describe:
            'idempotency key: the same key within 5 minutes is dropped by SQS (stdin line n uses <id>#<n>)',
        })
        .option('key', {
          type: 'string',
          describe:
            'group key of the values, for a stage with a `group` option: what its group function returns for them (required there)',
        })
        .option('timeout', {
          type: 'string',
          describe:
            'give up (exit code 1) when finding the queue and sending every value takes longer, 1s to 1d (default 30s)',
        })
        .options(
          payloadBucketOptions(
            `a value whose message is over ${DEFAULT_THRESHOLD_BYTES / 1024} KiB goes there, a pointer to it to SQS`,
          ),
        )
        .epilogue(ENQUEUE),
    )
    .command(COMMAND_USAGE.redrive, "move the stage's dead-letter messages back to its input queues", (c) =>
      c
        .positional('stage', { type: 'string' })
        .option('timeout', {
          type: 'string',
          describe:
            'give up (exit code 1) when one step (finding the queues, a receive of up to 10 messages and their moves) takes longer, 1s to 1d (default 30s)',
        })
        .epilogue(REDRIVE),
    )
    .command(COMMAND_USAGE.peek, "show messages of a stage's queues without consuming them", (c) =>
      c
        .positional('stage', { type: 'string', describe: 'the stage whose queues to look at' })
        .option('dlq', {
          type: 'boolean',
          default: false,
          describe: "look at the stage's dead-letter queue, with why each message is there",
        })
        .option('level', {
          type: 'string',
          describe: 'look at this priority level only, 0 to 15 (default: every level, highest first)',
        })
        .option('max', { type: 'string', describe: 'at most this many messages, 1 to 10 (default 10)' })
        .options(
          payloadBucketOptions(
            'show the bodies stored there (read, never deleted) instead of where they are',
          ),
        )
        .epilogue(PEEK),
    )
    .command(
      COMMAND_USAGE['iam-policy'],
      "print the least-privilege IAM policy JSON for the domain's queues",
      (c) =>
        c
          .option('stages', {
            type: 'string',
            describe:
              "compute the ARNs instead of listing existing queues: the pipeline's stages in order, as registered, name[:priorities],… (the first, the source, has no queues; a first stage with input: true is given with :<priorities>)",
          })
          .option('priorities', {
            type: 'string',
            describe: 'with --stages: priority levels of a stage given without :<n>, 1 to 16 (default 1)',
          })
          .option('dlq-stages', {
            type: 'string',
            describe:
              'with --stages: the stages that have a dead-letter queue (default: every stage but the first, as sqspipes makes them; name fewer only for queues made before that)',
          })
          .option('account', {
            type: 'string',
            describe: 'with --stages (required): the 12-digit AWS account id',
          })
          .option('partition', { type: 'string', describe: 'with --stages: the AWS partition (default aws)' })
          .option('role', { type: 'string', describe: 'required: whose policy, stage, producer or operator' })
          .option('stage', {
            type: 'string',
            describe:
              'with --role stage (required): the stage whose workers; with --role producer: the stage it feeds (default: the first with queues)',
          })
          .option('kms-key', {
            type: 'string',
            describe: "the ARN of the KMS key the queues are encrypted with (the client's kmsKeyId)",
          })
          .option('payload-bucket', {
            type: 'string',
            describe:
              "add the S3 grants of large bodies stored in this bucket (the client's payloads.bucket)",
          })
          .option('payload-prefix', {
            type: 'string',
            describe:
              'with --payload-bucket: their key prefix, payloads.prefix (default: empty, the whole bucket)',
          })
          .option('payload-kms-key', {
            type: 'string',
            describe:
              'with --payload-bucket: the ARN of the KMS key the bucket encrypts objects with (SSE-KMS)',
          })
          .epilogue(IAM),
    )
    .command(
      COMMAND_USAGE.scaling,
      'print the autoscaling configuration of every stage (KEDA or CloudWatch)',
      (c) =>
        c
          .option('keda', { type: 'boolean', describe: 'print KEDA ScaledObjects (YAML)' })
          .option('cloudwatch', {
            type: 'boolean',
            describe: 'print EC2 Auto Scaling target tracking policies (JSON)',
          })
          .option('target-backlog', {
            type: 'string',
            describe: `messages waiting per process to scale to, 1 to 1000000 (default ${DEFAULT_TARGET_BACKLOG})`,
          })
          .option('namespace', { type: 'string', describe: 'with --keda: the Kubernetes namespace' })
          .option('deployment', {
            type: 'string',
            describe:
              "with --keda: the Deployment of each stage, {stage} replaced (default '<domain>-{stage}')",
          })
          .option('min-replicas', {
            type: 'string',
            describe: `with --keda: minReplicaCount, 0 to 1000 (default ${DEFAULT_MIN_REPLICAS})`,
          })
          .option('max-replicas', {
            type: 'string',
            describe: `with --keda: maxReplicaCount, 1 to 1000 (default ${DEFAULT_MAX_REPLICAS})`,
          })
          .option('auth-ref', {
            type: 'string',
            describe: "with --keda: a TriggerAuthentication's name (default: the KEDA operator's identity)",
          })
          .option('group', {
            type: 'string',
            describe:
              "with --cloudwatch: the Auto Scaling group of each stage, {stage} replaced (default '<domain>-{stage}')",
          })
          .option('stages', {
            type: 'string',
            describe:
              "the pipeline's stages in order, name[:priorities],… instead of the existing queues (the first, the source, has no queues; a first stage with input: true is given with :<priorities>)",
          })
          .option('priorities', {
            type: 'string',
            describe: 'with --stages: priority levels of a stage given without :<n>, 1 to 16 (default 1)',
          })
          .option('account', {
            type: 'string',
            describe: 'with --stages (required): the 12-digit AWS account id',
          })
          .option('partition', { type: 'string', describe: 'with --stages: the AWS partition (default aws)' })
          .epilogue(SCALING),
    )
    .command(
      COMMAND_USAGE.lambda,
      'print the AWS Lambda event source mappings that run a stage (one per input level, one for its timers)',
      (c) =>
        c
          .option('stages', {
            type: 'string',
            describe:
              "required: the pipeline's stages in order, as registered, name[:priorities],… (the first, the source, has no queues; a first stage with input: true is given with :<priorities>)",
          })
          .option('priorities', {
            type: 'string',
            describe: 'priority levels of a stage given without :<n>, 1 to 16 (default 1)',
          })
          .option('stage', { type: 'string', describe: 'required: the stage to run on Lambda' })
          .option('max-concurrency', {
            type: 'string',
            describe:
              "the stage's maxConcurrency: each input mapping's MaximumConcurrency, brought into AWS's 2 to 1000 (default: none)",
          })
          .option('function', {
            type: 'string',
            describe: "the function's name or ARN (default '<domain>-<stage>')",
          })
          .option('account', {
            type: 'string',
            describe: "the 12-digit AWS account id, for the queues' ARNs and URLs (default: left to fill in)",
          })
          .option('partition', {
            type: 'string',
            describe: 'with --account: the AWS partition (default aws)',
          })
          .epilogue(LAMBDA),
    )
    .command(
      COMMAND_USAGE.replies,
      "show the domain's reply queues (of processes awaiting results), live or stale",
      (c) =>
        c
          .option('remove-stale', {
            type: 'boolean',
            default: false,
            describe: 'delete the stale reply queues (their owner is gone) and print their names',
          })
          .option('stale-after', {
            type: 'string',
            describe:
              'a reply queue whose heartbeat is older than this is stale, 1s to 30d, e.g. 30s, 5m, 2h (default 5m)',
          })
          .epilogue(REPLIES),
    )
    .command(
      COMMAND_USAGE.dashboard,
      "serve a live web page of the domain's pipeline and dead letters (redrive, purge with --actions)",
      dashboardOptions,
    )
    .command(
      COMMAND_USAGE.payloads,
      'check the S3 bucket of large bodies and its lifecycle rule (--install-lifecycle adds it); no --domain',
      (c) =>
        c
          .option('bucket', {
            type: 'string',
            describe: "required: the S3 bucket (the client's payloads.bucket)",
          })
          .option('prefix', {
            type: 'string',
            describe:
              'the key prefix, payloads.prefix: empty or ending with / (default: empty, the whole bucket)',
          })
          .option('install-lifecycle', {
            type: 'boolean',
            default: false,
            describe: `add sqspipes' lifecycle rule for the prefix (expiry after ${LIFECYCLE_EXPIRY_DAYS} days), keeping the other rules`,
          })
          .option('timeout', {
            type: 'string',
            describe: 'give up (exit code 1) when the S3 calls take longer in all, 1s to 1d (default 30s)',
          })
          .epilogue(PAYLOADS),
    );
}
