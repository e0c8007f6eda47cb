import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { formatDuration } from '../../src/cli/operator/flag-values.ts';
import { age } from '../../src/cli/operator/replies.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  DEFAULT_STALE_AFTER_MS,
  isReplyQueueName,
  newSenderId,
  replyQueueName,
} from '../../src/replies/reply-queue.ts';

describe('newSenderId', () => {
  it('is 12 random characters a-z and 0-9', () => {
    const ids = Array.from({ length: 50 }, newSenderId);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('replyQueueName', () => {
  it('is <domain>-reply-<sender id>.fifo', () => {
    expect(replyQueueName('shop', 'abc123def456')).toBe('shop-reply-abc123def456.fifo');
  });

  it("fits SQS's 80 characters up to a 56-character domain, and names the domain beyond", () => {
    const id = newSenderId();
    expect(replyQueueName('d'.repeat(56), id)).toHaveLength(80);
    const long = 'd'.repeat(57);
    expect(() => replyQueueName(long, id)).toThrow(ConfigError);
    expect(() => replyQueueName(long, id)).toThrow(
      `is 81 characters, over SQS's limit of 80: shorten the domain (\`${long}\`) to at most 56 characters`,
    );
  });

  it.each(['', 'abc', 'ABC123DEF456', 'abc123def4567', 'abc-23def456'])('refuses the sender id %j', (id) => {
    expect(() => replyQueueName('shop', id)).toThrow(ConfigError);
  });
});

describe('isReplyQueueName', () => {
  it('accepts exactly the names replyQueueName makes for the domain', () => {
    const id = newSenderId();
    expect(isReplyQueueName('shop', replyQueueName('shop', id))).toBe(true);
    expect(isReplyQueueName('d'.repeat(56), replyQueueName('d'.repeat(56), id))).toBe(true);
  });

  it.each([
    ['another domain', 'shop2-reply-abc123def456.fifo'],
    ['a domain extending it', 'shop-x-reply-abc123def456.fifo'],
    ['the domain as a prefix of another', 'sho-reply-abc123def456.fifo'],
    ['a stage queue', 'shop-reply-p0.fifo'],
    ['a stage named reply', 'shop-reply-dlq.fifo'],
    ['no .fifo', 'shop-reply-abc123def456'],
    ['a short id', 'shop-reply-abc123.fifo'],
    ['a long id', 'shop-reply-abc123def4567.fifo'],
    ['upper case', 'shop-reply-ABC123DEF456.fifo'],
    ['a path', 'shop-reply-abc123def456.fifo/../x'],
    ['an URL', 'https://sqs.us-east-1.amazonaws.com/1/shop-reply-abc123def456.fifo'],
    ['over 80 characters', `${'d'.repeat(57)}-reply-abc123def456.fifo`],
    ['empty', ''],
  ])('refuses %s', (_what, name) => {
    const domain = name.startsWith('d') ? 'd'.repeat(57) : 'shop';
    expect(isReplyQueueName(domain, name)).toBe(false);
  });
});

describe('sqspipes replies: command line', () => {
  const d = ['--domain', 'shop'];

  it('lists by default, stale after 5 minutes', async () => {
    expect(await parseOperatorArgs(['replies', ...d])).toMatchObject({
      kind: 'run',
      command: { name: 'replies', removeStale: false, staleAfterMs: DEFAULT_STALE_AFTER_MS },
    });
  });

  it.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
  ])('reads --stale-after %s', async (text, ms) => {
    expect(await parseOperatorArgs(['replies', ...d, '--remove-stale', '--stale-after', text])).toMatchObject(
      {
        command: { name: 'replies', removeStale: true, staleAfterMs: ms },
      },
    );
  });

  it.each([
    ['5', '--stale-after must be a duration from 1s to 30d'],
    ['5x', 'such as 30s, 5m, 2h or 1500ms, got "5x"'],
    ['-5m', 'got "-5m"'],
    ['999ms', 'got "999ms"'],
    ['31d', 'got "31d"'],
    ['1.5m', 'got "1.5m"'],
    ['', '--stale-after needs a value'],
  ])('refuses --stale-after %j', async (text, message) => {
    const parsed = parseOperatorArgs(['replies', ...d, `--stale-after=${text}`]);
    await expect(parsed).rejects.toThrow(UsageError);
    await expect(parseOperatorArgs(['replies', ...d, `--stale-after=${text}`])).rejects.toThrow(message);
  });

  it('refuses a value for --remove-stale and arguments', async () => {
    await expect(parseOperatorArgs(['replies', ...d, '--remove-stale=yes'])).rejects.toThrow(
      '--remove-stale takes no value, got "--remove-stale=yes" (see sqspipes replies --help)',
    );
    await expect(parseOperatorArgs(['replies', 'x', ...d])).rejects.toThrow(UsageError);
  });

  it('formats durations and ages in their largest whole unit', () => {
    expect([1500, 1000, 300_000, 7_200_000, 86_400_000].map(formatDuration)).toEqual([
      '1500ms',
      '1s',
      '5m',
      '2h',
      '1d',
    ]);
    expect([-5000, 999, 12_500, 185_000, 3 * 3_600_000, 72 * 3_600_000].map(age)).toEqual([
      'just now',
      'just now',
      '12s ago',
      '3m ago',
      '3h ago',
      '3d ago',
    ]);
  });
});
