import {
  ListQueuesCommand,
  ListQueueTagsCommand,
  QueueDoesNotExist,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Finding queues: the URLs of those whose name starts with a prefix (candidates only: sqspipes
 * decides what a queue is by its tags, never by its name), and the tags of one.
 */
export async function listQueueUrls(sqs: SQSClient, prefix: string): Promise<string[]> {
  const urls: string[] = [];
  let token: string | undefined;
  do {
    const out = await sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: prefix,
        MaxResults: 1000,
        ...(token === undefined ? {} : { NextToken: token }),
      }),
    );
    urls.push(...(out.QueueUrls ?? []));
    token = out.NextToken;
  } while (token !== undefined && token !== '');
  return urls;
}

/** The tags of the queue at `url`; undefined when it was deleted since it was listed. */
export async function readQueueTags(
  sqs: SQSClient,
  url: string,
): Promise<Readonly<Record<string, string>> | undefined> {
  try {
    const out = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
    return out.Tags ?? {};
  } catch (error) {
    if (error instanceof QueueDoesNotExist) return undefined;
    throw error;
  }
}

/** The name of a queue, from its URL (`…/<account>/<name>`). */
export function queueNameOf(url: string): string {
  return decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
}
