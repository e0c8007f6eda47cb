import type { SQSClient } from '@aws-sdk/client-sqs';
import { s3SourceOf } from '../../payloads/s3-client.ts';
import { createSqsClient, targetOf } from '../../sqs/connect.ts';
import { type Diagnose, diagnoser, OPERATOR_CLI_SETTINGS } from '../../sqs/diagnose.ts';
import { type Command, parseOperatorArgs } from './args.ts';
import type { OperatorContext } from './context.ts';
import { dashboardCommand } from './dashboard/command.ts';
import { destroyCommand, terminalConfirm } from './destroy.ts';
import { enqueueCommand } from './enqueue.ts';
import { EXIT, exitCodeOf, failureText } from './errors.ts';
import { iamPolicyCommand } from './iam-command.ts';
import { lambdaCommand } from './lambda-command.ts';
import { parseJsonArgument, parseJsonLines, readStdin } from './json-input.ts';
import { note, writeOut } from './output.ts';
import { payloadAccess, type PayloadAccess } from './payload-access.ts';
import { payloadsCommand } from './payloads-command.ts';
import { peekCommand } from './peek.ts';
import { purgeCommand } from './purge.ts';
import { redriveCommand } from './redrive.ts';
import { repliesCommand } from './replies.ts';
import { scalingCommand } from './scaling-command.ts';
import { statusCommand } from './status-command.ts';
import { stderrLogger } from '../stderr-logger.ts';

/** Sockets of the operator CLI's client: it makes at most ~10 requests at a time. */
const MAX_SOCKETS = 16;

/**
 * The operator CLI `sqspipes`: parses `argv`, runs the command and resolves with the exit code
 * (0 done, 1 runtime failure, 2 usage error). Failures are one line on stderr (with stacks when
 * `--verbose`); it never rejects for a failure of the command.
 */
export async function runOperatorCli(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  let parsed;
  try {
    parsed = await parseOperatorArgs(argv);
  } catch (error) {
    note(failureText(error, verbose));
    return exitCodeOf(error);
  }
  if (parsed.kind === 'print') {
    await writeOut(`${parsed.text}\n`); // --help, --version
    return EXIT.ok;
  }
  const { global } = parsed;
  let sqs: SQSClient | undefined;
  let payloads: PayloadAccess | undefined;
  try {
    sqs = await createSqsClient({
      region: global.region,
      endpoint: global.endpoint,
      credentials: undefined,
      maxSockets: MAX_SOCKETS,
    });
    const target = await targetOf(sqs, global.endpoint, false);
    if (parsed.kind === 'payloads') {
      // S3 where the SQS client goes, as a stage's payload store does; no SQS call is made.
      const payloads = { source: s3SourceOf(sqs, target), json: global.json, logger: stderrLogger(verbose) };
      await payloadsCommand(payloads, parsed.request);
      return EXIT.ok;
    }
    const { command } = parsed;
    const diagnose = diagnoser(target, OPERATOR_CLI_SETTINGS);
    explainFailures(sqs, diagnose, command.name);
    const s3 =
      command.name === 'enqueue' ||
      command.name === 'peek' ||
      command.name === 'dashboard' ||
      command.name === 'status';
    const location = s3 ? command.payloads : undefined;
    if (location !== undefined)
      payloads = payloadAccess(location, s3SourceOf(sqs, target), stderrLogger(verbose));
    const ctx: OperatorContext = {
      sqs,
      domain: parsed.global.domain,
      json: global.json,
      note,
      diagnose,
      payloads,
    };
    await dispatch(ctx, command, sqs);
    return EXIT.ok;
  } catch (error) {
    const explained = payloads === undefined ? error : payloads.explain(error);
    note(failureText(explained, verbose));
    return exitCodeOf(explained);
  } finally {
    await payloads?.store.close(); // the CLI deletes nothing: this only ends its S3 client
    sqs?.destroy();
  }
}

async function dispatch(ctx: OperatorContext, command: Command, sqs: SQSClient): Promise<void> {
  switch (command.name) {
    case 'status':
      return statusCommand(ctx, command);
    case 'purge':
      return purgeCommand(ctx, command.stage);
    case 'destroy':
      return destroyCommand(ctx, command.yes, terminalConfirm);
    case 'enqueue': {
      if (command.value === undefined && process.stdin.isTTY === true) {
        ctx.note('Reading JSON lines from the terminal: end with Ctrl-D');
      }
      const values =
        command.value === undefined ? parseJsonLines(await readStdin()) : [parseJsonArgument(command.value)];
      return enqueueCommand(ctx, command, values);
    }
    case 'redrive':
      return redriveCommand(ctx, command.stage, command.timeoutMs);
    case 'peek':
      return peekCommand(ctx, command);
    case 'iam-policy':
      return iamPolicyCommand(ctx, command.computed, command, () => sqs.config.region());
    case 'scaling':
      return scalingCommand(ctx, command.computed, command.scaling, () => sqs.config.region());
    case 'lambda':
      return lambdaCommand(ctx, command, () => sqs.config.region());
    case 'replies':
      return repliesCommand(ctx, command);
    case 'dashboard':
      return dashboardCommand(ctx, command);
  }
}

/**
 * Every SQS call of the command that fails for good (after the SDK's retries) fails with the
 * library's explanation: the endpoint and where it came from, the region, the step, what to check.
 */
function explainFailures(sqs: SQSClient, diagnose: Diagnose, command: string): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const input = args.input as { QueueUrl?: unknown; QueueName?: unknown };
        const queue = [input.QueueUrl, input.QueueName].find((q) => typeof q === 'string');
        const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
        throw diagnose(error, { step: `running \`sqspipes ${command}\``, action, queue });
      }
    },
    { step: 'initialize', name: 'sqspipesExplainFailures' },
  );
}
