import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Approximate counts of one queue, as SQS reports them (they lag by up to a minute on AWS). */
export interface Depths {
  visible: number;
  inFlight: number;
  delayed: number;
}

export async function queueDepths(sqs: SQSClient, url: string): Promise<Depths> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const attributes = out.Attributes ?? {};
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
