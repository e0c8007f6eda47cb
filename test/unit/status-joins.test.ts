/**
 * The joins of `status --payload-bucket` and the dashboard (src/cli/operator/status-joins.ts): the
 * table, and how often a refreshing command lists them. S3 here is a stand-in store answering
 * ListObjectsV2 from a map (the listing itself runs on a real S3 in join-listing.test.ts).
 */
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { PayloadAccess } from '../../src/cli/operator/payload-access.ts';
import { JOIN_REFRESH_MS, JoinWatch, renderJoins } from '../../src/cli/operator/status-joins.ts';
import type { PayloadStore } from '../../src/payloads/store.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('status: the joins table', () => {
  it('gives each join stage its items waiting (+ when capped) and the age of the oldest', () => {
    const table = renderJoins(
      [
        { stage: 'count', waiting: 0, capped: false, oldestFoldedAt: null },
        {
          stage: 'total',
          waiting: 10_000,
          capped: true,
          oldestFoldedAt: new Date(NOW - 300_000).toISOString(),
        },
      ],
      NOW,
    );
    expect(table.split('\n')).toEqual([
      'JOIN STAGE  WAITING  OLDEST LAST FOLDED',
      'count             0  -',
      'total        10000+  5m ago',
    ]);
  });
});

describe('JoinWatch: the joins of a refreshing command', () => {
  /** A payload access whose store answers each listing from `pages` by prefix, counting them. */
  function access(pages: Map<string, Partial<ListObjectsV2CommandOutput>>, failing: { on: boolean }) {
    const calls: string[] = [];
    const store = {
      bucket: 'b',
      prefix: 'p/',
      call: (action: string, key: string | undefined) => {
        calls.push(`${action} ${key ?? ''}`);
        if (failing.on) return Promise.reject(new Error('AccessDenied'));
        return Promise.resolve(pages.get(key ?? '') ?? {});
      },
    } as unknown as PayloadStore;
    const explain = (error: unknown) => new Error(`explained: ${(error as Error).message}`);
    const payloads: PayloadAccess = { store, prefix: 'p/', where: 'here', explain };
    return { payloads, calls };
  }

  const pages = new Map<string, Partial<ListObjectsV2CommandOutput>>([
    ['p/shop/join/', { CommonPrefixes: [{ Prefix: 'p/shop/join/total/' }] }],
    [
      'p/shop/join/total/',
      {
        Contents: [
          { Key: 'a', Size: 10, LastModified: new Date(NOW - 60_000) },
          { Key: 'b', Size: 0, LastModified: new Date(NOW - 600_000) },
        ],
      },
    ],
  ]);

  it('lists again once 10 s have passed, and keeps the last listing until then', async () => {
    const { payloads, calls } = access(pages, { on: false });
    const watch = new JoinWatch(payloads, 'shop');
    const first = await watch.seen(NOW);
    expect(first).toEqual({
      rows: [
        { stage: 'total', waiting: 1, capped: false, oldestFoldedAt: new Date(NOW - 60_000).toISOString() },
      ],
      at: NOW,
    });
    // The join stages (under join/ and joined/), then the waiting items of each.
    expect(calls).toEqual([
      'ListObjectsV2 p/shop/join/',
      'ListObjectsV2 p/shop/joined/',
      'ListObjectsV2 p/shop/join/total/',
    ]);
    expect(await watch.seen(NOW + JOIN_REFRESH_MS - 1)).toBe(first);
    expect(calls).toHaveLength(3);
    await watch.seen(NOW + JOIN_REFRESH_MS);
    expect(calls).toHaveLength(6);
  });

  it("keeps a failed listing as its error in the CLI's words, and tries again 10 s later", async () => {
    const failing = { on: true };
    const { payloads } = access(pages, failing);
    const watch = new JoinWatch(payloads, 'shop');
    expect(await watch.seen(NOW)).toEqual({ error: 'explained: AccessDenied', at: NOW });
    failing.on = false;
    expect(await watch.seen(NOW + 1)).toEqual({ error: 'explained: AccessDenied', at: NOW });
    expect(await watch.seen(NOW + JOIN_REFRESH_MS)).toMatchObject({ rows: [{ stage: 'total', waiting: 1 }] });
  });
});
