/**
 * `sqspipes payloads --bucket B [--prefix P] [--install-lifecycle]`: checks the S3 bucket of large
 * bodies as a stage does at start (it writes and reads back `<prefix>sqspipes.check`), then says
 * whether a lifecycle rule expires what a crashed process leaves under the prefix, and what to do
 * if not. With `--install-lifecycle` it first adds sqspipes' rule (keeping the bucket's other
 * rules) and fails if the prefix is still not covered as it should be.
 */
import { SqspipesError } from '../../errors.ts';
import { LIFECYCLE_EXPIRY_DAYS, type LifecycleReport, ruleId } from '../../payloads/lifecycle.ts';
import { resolvePayloadOptions } from '../../payloads/options.ts';
import type { S3Source } from '../../payloads/s3-client.ts';
import { CHECK_KEY, PayloadStore } from '../../payloads/store.ts';
import { DeadlineExceeded, deadline, untilAborted } from '../../time/deadline.ts';
import type { Logger } from '../../types.ts';
import { formatDuration } from './flag-values.ts';
import { printJson, printLines } from './output.ts';
import { explainS3, operatorS3Settings } from './payload-access.ts';
import type { PayloadsRequest } from './payload-args.ts';

/** What `payloads` runs with: where S3 is (as the SQS client's, see s3SourceOf), and how to print. */
export interface PayloadsContext {
  readonly source: S3Source;
  readonly json: boolean;
  /** For the payload store's own warnings. */
  readonly logger: Logger;
}

/** What `payloads` found (and did), as `--json` prints it. */
export interface PayloadsReport {
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string | null;
  /** null: AWS's default S3 endpoint for the region. */
  readonly endpoint: string | null;
  /** The object written and read back: the bucket is usable. */
  readonly checked: string;
  /** What `--install-lifecycle` did to sqspipes' rule; null without it. */
  readonly install: 'installed' | 'updated' | 'unchanged' | null;
  readonly lifecycle: {
    readonly state: LifecycleReport['state'];
    readonly description: string;
    /** What to do about it; null when `ok`. */
    readonly fix: string | null;
  };
}

export async function payloadsCommand(ctx: PayloadsContext, request: PayloadsRequest): Promise<void> {
  const report = await payloadsReport(ctx, request);
  if (ctx.json) await printJson(report);
  else await printLines(textOf(report));
  if (request.installLifecycle && report.lifecycle.fix !== null) {
    throw new SqspipesError(
      `sqspipes' lifecycle rule is in place, but the objects under ${report.prefix} are still not covered as they should be (${report.lifecycle.state}): ${report.lifecycle.fix}`,
    );
  }
}

/** Checks the bucket, then reads (or installs, then reads) the lifecycle rules, within `--timeout`. */
export async function payloadsReport(
  ctx: PayloadsContext,
  request: PayloadsRequest,
): Promise<PayloadsReport> {
  const options = resolvePayloadOptions({ bucket: request.bucket, prefix: request.prefix });
  if (options === undefined) throw new Error('unreachable: the payloads option is given');
  const store = new PayloadStore({ options, source: ctx.source, logger: ctx.logger });
  const limit = deadline('sqspipes payloads', request.timeoutMs);
  try {
    return await untilAborted(run(ctx, store, request, limit.signal), limit.signal);
  } catch (error) {
    if (!(error instanceof DeadlineExceeded)) {
      const at = { prefix: request.prefix, region: ctx.source.region, endpoint: ctx.source.endpoint };
      throw explainS3(error, at, operatorS3Settings('--bucket'));
    }
    throw new SqspipesError(
      `S3 did not answer within ${formatDuration(request.timeoutMs)} (${where(ctx.source)}): check that it is reachable, or give it longer with --timeout`,
      { cause: error },
    );
  } finally {
    limit.dispose();
    await store.close();
  }
}

async function run(
  ctx: PayloadsContext,
  store: PayloadStore,
  request: PayloadsRequest,
  signal: AbortSignal,
): Promise<PayloadsReport> {
  await store.check({ read: true }, signal);
  const installed = request.installLifecycle
    ? await store.installLifecycle(LIFECYCLE_EXPIRY_DAYS, signal)
    : undefined;
  const lifecycle = installed?.report ?? (await store.lifecycle(signal));
  return {
    bucket: request.bucket,
    prefix: request.prefix,
    region: ctx.source.region ?? null,
    endpoint: ctx.source.endpoint ?? null,
    checked: `${request.prefix}${CHECK_KEY}`,
    install: installed?.action ?? null,
    lifecycle: { ...lifecycle, fix: fixOf(lifecycle.state, request.prefix) },
  };
}

/** What to do about a lifecycle state, in the CLI's words. */
function fixOf(state: LifecycleReport['state'], prefix: string): string | null {
  const days = LIFECYCLE_EXPIRY_DAYS;
  const own = `or add a rule of your own that expires them after ${days} days or more`;
  switch (state) {
    case 'ok':
      return null;
    case 'missing':
      return prefix === ''
        ? `give sqspipes' objects a prefix (the \`payloads.prefix\` option, e.g. "sqspipes/") and add its rule with --prefix and --install-lifecycle (a rule for the whole bucket would expire every object of it), ${own}`
        : `run again with --install-lifecycle to add sqspipes' rule (objects under ${prefix} expire after ${days} days), ${own}`;
    case 'too-short':
      return `change the rules named so that none expires or archives objects under ${prefix === '' ? 'the bucket' : prefix} before ${days} days, or narrow them to other prefixes (--install-lifecycle adds sqspipes' rule but never changes the others)`;
    case 'unreadable':
      return `run this check as an identity allowed s3:GetLifecycleConfiguration on the bucket (see sqspipes iam-policy --role operator --payload-bucket), or read the bucket's lifecycle rules in the S3 console`;
  }
}

function textOf(report: PayloadsReport): string[] {
  const lines = [
    `s3://${report.bucket}/${report.prefix}: usable (wrote and read back ${report.checked}, as a stage does at start; ${where(report)})`,
  ];
  const rule = `lifecycle rule ${JSON.stringify(ruleId(report.prefix))}`;
  const expiry = `objects under ${report.prefix} expire after ${LIFECYCLE_EXPIRY_DAYS} days`;
  if (report.install === 'installed') lines.push(`installed ${rule}: ${expiry}`);
  if (report.install === 'updated') lines.push(`updated ${rule} to sqspipes' own: ${expiry}`);
  if (report.install === 'unchanged') lines.push(`${rule} already in place: nothing changed`);
  lines.push(`lifecycle ${report.lifecycle.state}: ${report.lifecycle.description}`);
  if (report.lifecycle.fix !== null) lines.push(`to do: ${report.lifecycle.fix}`);
  return lines;
}

function where(at: { region: string | null | undefined; endpoint: string | null | undefined }): string {
  return `region ${at.region ?? 'not set'}, endpoint ${at.endpoint ?? "AWS's default for S3"}`;
}
