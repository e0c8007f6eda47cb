/**
 * The flags of `lambda`: the pipeline (`--stages`), the stage to run on Lambda, and what its
 * mappings need (`--max-concurrency`, `--function`; `--account` and `--partition` for ARNs).
 */
import { MAX_PRIORITIES } from '../../queues/naming.ts';
import { listWords } from './commands.ts';
import { UsageError } from './errors.ts';
import { integer, onlyWith, optionalString, type Parsed, quote, stageName } from './flag-values.ts';
import {
  checkAccount,
  checkPartition,
  parsePipeline,
  type PipelineSpec,
  type StageSpec,
} from './iam-policy.ts';

/** `sqspipes lambda`: the mappings of one stage. */
export interface LambdaRequest {
  /** `--stages`: the pipeline, its first stage a source unless given with `:<priorities>`. */
  readonly pipeline: PipelineSpec;
  /** `--stage`: the stage whose function the mappings invoke. */
  readonly stage: string;
  /** `--max-concurrency`: the stage's maxConcurrency; undefined: none. */
  readonly maxConcurrency: number | undefined;
  /** `--function`: the function's name or ARN; undefined: `<domain>-<stage>`. */
  readonly functionName: string | undefined;
  /** `--account`: for the queues' ARNs; undefined: ARNs left to fill in. */
  readonly account: string | undefined;
  /** `--partition` (default aws). */
  readonly partition: string;
}

/** The stage option's own range (src/stage.ts): brought into AWS's 2 to 1,000 by the mappings. */
const MAX_CONCURRENCY = 10_000;

/** A function name (1 to 64 letters, digits, - and _), or a function ARN (with a version or alias). */
const FUNCTION_PATTERN =
  /^([A-Za-z0-9_-]{1,64}|arn:aws(-[a-z]+)*:lambda:[a-z]{2,}(-[a-z0-9]+)+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?)$/;

export function lambdaRequest(parsed: Parsed): LambdaRequest {
  const stages = optionalString(parsed, 'stages');
  if (stages === undefined) {
    throw new UsageError(
      "--stages is required: the pipeline's stages in order, as registered, e.g. --stages gen,work:2,store",
    );
  }
  const given = optionalString(parsed, 'stage');
  if (given === undefined) throw new UsageError('--stage is required: the stage to run on Lambda');
  const account = optionalString(parsed, 'account');
  onlyWith(parsed, ['partition'], 'account', account !== undefined);
  if (account !== undefined) checkAccount(account);
  const partition = optionalString(parsed, 'partition') ?? 'aws';
  checkPartition(partition);
  const functionName = optionalString(parsed, 'function');
  if (functionName !== undefined) checkFunction(functionName, true);
  const priorities = integer(parsed, 'priorities', 1, MAX_PRIORITIES) ?? 1;
  const pipeline = parsePipeline(stages, priorities);
  const stage = stageName('--stage', given);
  mappedStage(pipeline, stage);
  return {
    pipeline,
    stage,
    maxConcurrency: integer(parsed, 'max-concurrency', 1, MAX_CONCURRENCY),
    functionName,
    account,
    partition,
  };
}

/** The stage `--stage` names; refuses one not in the pipeline, or its source (no input queue to map). */
export function mappedStage(pipeline: PipelineSpec, stage: string): StageSpec {
  const found = pipeline.stages.find((s) => s.name === stage);
  if (found !== undefined) return found;
  if (stage === pipeline.source) {
    throw new UsageError(
      `--stage ${quote(stage)} is the first stage (the source): it has no input queue for Lambda to read; run it as a process (a first stage registered with input: true is given as ${quote(`${stage}:<priorities>`)} in --stages)`,
    );
  }
  const names = [
    ...(pipeline.source === undefined ? [] : [pipeline.source]),
    ...pipeline.stages.map((s) => s.name),
  ];
  throw new UsageError(
    `--stage ${quote(stage)} is not in --stages: the stages are ${listWords(names.map(quote), 'and')}`,
  );
}

/** Refuses what Lambda would not take as a function's name: `--function`'s, or the default. */
export function checkFunction(name: string, given: boolean): void {
  if (FUNCTION_PATTERN.test(name)) return;
  throw new UsageError(
    given
      ? `--function must be a Lambda function name (1 to 64 letters, digits, - and _) or a function ARN, got ${quote(name)}`
      : `The function's default name, <domain>-<stage>, ${quote(name)}, is not a Lambda function name (1 to 64 letters, digits, - and _): give --function`,
  );
}
