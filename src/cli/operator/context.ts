import type { SQSClient } from '@aws-sdk/client-sqs';

/** What every operator command gets: the SQS client, the domain and the output mode. */
export interface OperatorContext {
  readonly sqs: SQSClient;
  /** The pipeline's domain (`--domain`). */
  readonly domain: string;
  /** `--json`: print JSON instead of text. */
  readonly json: boolean;
  /** A note for the human, on stderr. */
  readonly note: (text: string) => void;
}
