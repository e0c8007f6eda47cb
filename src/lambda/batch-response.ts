import type { LambdaBatchResponse } from './types.ts';

/** What the answer needs of a record: its id, its message group (FIFO), and how it ended. */
export interface RecordEnd {
  readonly messageId: string;
  /** Its MessageGroupId; undefined on a standard queue. */
  readonly group: string | undefined;
  /** `done`: acknowledged (outputs accepted); `dead-lettered`: moved with its reason; `failed`: left for SQS. */
  readonly end: 'done' | 'dead-lettered' | 'failed';
}

/**
 * The answer to Lambda's event source mapping (with ReportBatchItemFailures): the records to leave
 * on the queue. Every record that failed is reported; on a FIFO queue, so is every later record of
 * a group once one of its records failed (Lambda's FIFO rule: SQS then delivers the group again
 * in order). A record dead-lettered is never reported: it was moved on purpose, with its reason,
 * and reporting it would only run it again.
 */
export function batchResponse(records: readonly RecordEnd[]): LambdaBatchResponse {
  const failedGroups = new Set<string>();
  const failures: { itemIdentifier: string }[] = [];
  for (const record of records) {
    const blocked = record.group !== undefined && failedGroups.has(record.group);
    if (record.end === 'failed' || (blocked && record.end === 'done')) {
      failures.push({ itemIdentifier: record.messageId });
      if (record.group !== undefined) failedGroups.add(record.group);
    }
  }
  return { batchItemFailures: failures };
}
