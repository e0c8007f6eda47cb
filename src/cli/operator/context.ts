import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Diagnose } from '../../sqs/diagnose.ts';
import type { PayloadAccess } from './payload-access.ts';

/** What every operator command gets: the SQS client, the domain and the output mode. */
export interface OperatorContext {
  readonly sqs: SQSClient;
  /** The pipeline's domain (`--domain`). */
  readonly domain: string;
  /** `--json`: print JSON instead of text. */
  readonly json: boolean;
  /** A note for the human, on stderr. */
  readonly note: (text: string) => void;
  /**
   * Explains a failure that did not come from an SQS call, such as a command giving up on SQS
   * (`--timeout`), as a ConnectionError naming the endpoint. @default the error as it is
   */
  readonly diagnose?: Diagnose;
  /** `--payload-bucket`: large bodies in S3, written by enqueue, read by peek. @default none */
  readonly payloads?: PayloadAccess | undefined;
}
