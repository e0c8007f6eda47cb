/**
 * The joins waiting, listed from the payloads bucket (src/payloads/join-listing.ts), on the S3 of
 * the test backend, with states written by the join's own store (S3JoinStateStore): an object with
 * a body is an item waiting, an empty one a tombstone. ElasticMQ has no S3: the file skips there.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Logger } from '../../src/types.ts';
import { CONFLICT } from '../../src/payloads/join-state.ts';
import { S3JoinStateStore } from '../../src/payloads/join-state-s3.ts';
import { listJoinStages, listPendingJoins, waitingText } from '../../src/payloads/join-listing.ts';
import { resolvePayloadOptions } from '../../src/payloads/options.ts';
import { PayloadStore } from '../../src/payloads/store.ts';
import { s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv } from '../support/sqs.ts';

const { endpoint, region, credentials } = backendEnv();
const PREFIX = 'sq/';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`join-listing.test.ts: ${skipped}`);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function payloadStore(bucket: string): PayloadStore {
  const options = resolvePayloadOptions({ bucket, prefix: PREFIX });
  if (options === undefined) throw new Error('unreachable');
  return new PayloadStore({
    options,
    source: { endpoint, region, credentials: async () => credentials },
    logger: quiet,
  });
}

describe.skipIf(skipped !== undefined)(
  skipped ?? `joins waiting on the S3 of ${inject('sqsBackend')}`,
  () => {
    const bucket = testBucket('joinlist');
    const raw = s3Client();
    const store = payloadStore(bucket);
    const states = (domain: string, join: string) =>
      new S3JoinStateStore({ store, domain, join, logger: quiet });
    afterAll(async () => {
      await store.close();
      raw.destroy();
    });

    /** Writes a state with a body for each of `pending`, and a tombstone for each of `done`. */
    async function write(joins: S3JoinStateStore, pending: readonly string[], done: readonly string[]) {
      for (const id of [...pending, ...done]) {
        const created = await joins.create(id, JSON.stringify({ id, branches: 2 }));
        if (created === CONFLICT) throw new Error(`the create of ${id} conflicted`);
        if (done.includes(id) && (await joins.update(id, '', created.version)) === CONFLICT) {
          throw new Error(`the tombstone of ${id} conflicted`);
        }
      }
    }

    it('counts the states with a body, not the tombstones; oldest is the earliest of their LastModified', async () => {
      const total = states('shop', 'total');
      await write(total, ['a', 'b', 'c'], ['d', 'e']);
      // Another join stage of the domain, and the same stage of another domain, are apart.
      await write(states('shop', 'other'), ['f'], []);
      await write(states('shop2', 'total'), ['g', 'h'], []);

      const joins = await listPendingJoins(store, 'shop', 'total');
      // The LastModified of each pending state, as S3 lists it (HEAD gives only whole seconds).
      const listed = await raw.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${PREFIX}shop/join/total/` }),
      );
      const pending = new Set(['a', 'b', 'c'].map((id) => total.keyOf(id)));
      const modified = (listed.Contents ?? [])
        .filter((o) => pending.has(o.Key ?? ''))
        .map((o) => o.LastModified?.getTime() ?? Number.NaN);
      expect(modified).toHaveLength(3);
      expect(joins).toEqual({ waiting: 3, capped: false, oldest: new Date(Math.min(...modified)) });
      expect(waitingText(joins)).toBe('3');
    });

    it('nothing waiting: 0 and no oldest, for a stage of tombstones only or with no state at all', async () => {
      await write(states('calm', 'total'), [], ['x', 'y']);
      expect(await listPendingJoins(store, 'calm', 'total')).toEqual({
        waiting: 0,
        capped: false,
        oldest: undefined,
      });
      expect(await listPendingJoins(store, 'calm', 'nothing')).toEqual({
        waiting: 0,
        capped: false,
        oldest: undefined,
      });
    });

    it('stops at `max` objects read, tombstones included, and says the count is a lower bound', async () => {
      await write(states('many', 'total'), ['p1', 'p2', 'p3', 'p4'], ['t1', 't2']);
      const before = store.requests.get('ListObjectsV2') ?? 0;
      const capped = await listPendingJoins(store, 'many', 'total', undefined, 3);
      expect(capped.capped).toBe(true);
      expect(capped.waiting).toBeLessThanOrEqual(3);
      expect(waitingText(capped)).toBe(`${capped.waiting}+`);
      expect((store.requests.get('ListObjectsV2') ?? 0) - before).toBe(1);
      // Room for all 6: every object read.
      const all = await listPendingJoins(store, 'many', 'total', undefined, 6);
      expect(all).toMatchObject({ waiting: 4, capped: false });
    });

    it("lists the domain's join stages from their prefixes", async () => {
      await write(states('stages', 'total'), ['a'], []);
      await write(states('stages', 'count'), [], ['b']);
      await write(states('stages-x', 'elsewhere'), ['c'], []);
      expect(await listJoinStages(store, 'stages')).toEqual(['count', 'total']);
      expect(await listJoinStages(store, 'none')).toEqual([]);
    });

    it('an aborted signal stops a listing', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(listPendingJoins(store, 'shop', 'total', controller.signal)).rejects.toMatchObject({
        name: 'AbortError',
      });
    });
  },
);
