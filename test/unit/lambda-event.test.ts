import { describe, expect, it } from 'vitest';
import { queueArn } from '../../src/testing/lambda-event.ts';

describe("a queue's ARN in the local event source's records", () => {
  it('takes the name and the account from the URL path, whatever its host', () => {
    expect(queueArn('https://sqs.eu-west-1.amazonaws.com/123456789012/d-s-p0.fifo', 'eu-west-1')).toBe(
      'arn:aws:sqs:eu-west-1:123456789012:d-s-p0.fifo',
    );
    // fauxqs started on an IP answers URLs whose host `new URL()` refuses: no crash.
    expect(queueArn('http://sqs.us-east-1.127.0.0.1:4566/000000000000/q.fifo', 'us-east-1')).toBe(
      'arn:aws:sqs:us-east-1:000000000000:q.fifo',
    );
    expect(queueArn('http://localhost:9324/queue/q', 'us-east-1', '111122223333')).toBe(
      'arn:aws:sqs:us-east-1:111122223333:q',
    );
  });
});
