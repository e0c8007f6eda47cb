import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueAttributeName,
  QueueDoesNotExist,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueConfigError, SqsError } from '../errors.ts';
import { type Diagnose, passThrough, type SqsCall } from '../sqs/diagnose.ts';
import type { Logger } from '../types.ts';
import { type AttributeChange, attributeDrift, attributeUpdate } from './attribute-drift.ts';

/** A queue this pipeline needs: its name, attributes and tags. */
export interface QueueSpec {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * A client option under this key (not part of the typed API) sets {@link ProvisionerOptions.settleMs}:
 * the testing kit gives 0 for SQS implementations where a queue is usable once CreateQueue answered.
 */
export const SETTLE_MS_OPTION: unique symbol = Symbol.for('sqspipes.queueSettleMs');

export interface ProvisionerOptions {
  /** Wait after creating a queue before using it (AWS asks for one second). @default 1000 */
  readonly settleMs?: number | undefined;
  /** Turns a failed call's error into the one to throw (a ConnectionError for a setup problem). */
  readonly diagnose?: Diagnose;
  /** Says on which queue an attribute was updated in place (warn), or left as another set it (debug). */
  readonly logger?: Logger;
}

/**
 * What a caller does about a queue whose attributes differ from its spec in ways SQS can change
 * on a live queue: `own` (the stage that consumes the queue, or `createQueues()`) updates them in
 * place; `use` (a producer) leaves them to the owner and goes on. A difference SQS cannot change
 * is a QueueConfigError either way.
 */
export type QueueRole = 'own' | 'use';

/** The step a queue lookup belongs to: part of creating the queues, or looking them up alone. */
const CREATING = 'creating queues';
const LOOKING_UP = 'looking up queues';

/**
 * Creates queues on first use, idempotently, and remembers their URLs. A queue that exists with
 * other attributes is updated in place by its owner (see {@link QueueRole}) when SQS allows it,
 * else a {@link QueueConfigError} naming the queue and the attribute; a failure that says the
 * setup is wrong (unreachable endpoint, credentials) is diagnosed as such.
 */
export class Provisioner {
  readonly #client: SQSClient;
  readonly #urls = new Map<string, Promise<string>>();
  /** URLs of the queues this client owns, their attributes reconciled. */
  readonly #owned = new Map<string, Promise<string>>();
  readonly #arns = new Map<string, Promise<string>>();
  /** URLs as soon as known: found by a lookup while its check runs, else once created and checked. */
  readonly #located = new Map<string, Promise<string>>();
  readonly #settleMs: number;
  readonly #diagnose: Diagnose;
  readonly #logger: Logger | undefined;

  constructor(client: SQSClient, options: ProvisionerOptions = {}) {
    this.#client = client;
    this.#settleMs = options.settleMs ?? 1000;
    this.#diagnose = options.diagnose ?? passThrough;
    this.#logger = options.logger;
  }

  /**
   * URL of the queue, creating it if needed; `role` says what to do about attributes that differ
   * (see {@link QueueRole}). Concurrent calls for one name share one request.
   */
  ensure(spec: QueueSpec, role: QueueRole = 'use'): Promise<string> {
    return this.ensureWith(spec.name, spec, role);
  }

  /**
   * {@link ensure} for a queue whose spec waits on something (an input's redrive policy on its
   * dead-letter queue's ARN): the queue is looked up and its attributes read meanwhile; it is
   * compared, or created, once `spec` (named `name`) is known.
   */
  ensureWith(name: string, spec: QueueSpec | Promise<QueueSpec>, role: QueueRole = 'use'): Promise<string> {
    const cache = role === 'own' ? this.#owned : this.#urls;
    let url = cache.get(name);
    if (url === undefined) {
      const found = this.#find(name, CREATING);
      const ensured = this.#ensure(name, found, Promise.resolve(spec), role);
      url = ensured;
      cache.set(name, url);
      url.catch(() => cache.delete(name));
      if (!this.#located.has(name)) {
        const located = found.then((existing) => existing ?? ensured);
        this.#located.set(name, located);
        located.catch(() => this.#located.delete(name));
      }
    }
    return url;
  }

  /**
   * URL of a queue {@link ensureWith} was asked for, as soon as it is known: an existing queue's
   * once found, while its attributes are still being checked (a consumer may receive meanwhile,
   * holding what comes until the check passed); a new one's once created and checked. Undefined
   * when it was not asked for.
   */
  located(name: string): Promise<string> | undefined {
    return this.#located.get(name);
  }

  /** URL of an existing queue, or undefined; never creates. */
  find(name: string): Promise<string | undefined> {
    return this.#find(name, LOOKING_UP);
  }

  async #find(name: string, step: string): Promise<string | undefined> {
    const known = this.#urls.get(name);
    if (known !== undefined) return known;
    try {
      const out = await this.#client.send(new GetQueueUrlCommand({ QueueName: name }));
      return out.QueueUrl;
    } catch (error) {
      if (error instanceof QueueDoesNotExist) return undefined;
      throw this.#diagnose(error, { step, action: 'GetQueueUrl', queue: name });
    }
  }

  /** ARN of a queue (for redrive policies): the one its check read, else asked once. */
  arn(name: string, url: string): Promise<string> {
    let arn = this.#arns.get(name);
    if (arn === undefined) {
      const call = { step: CREATING, action: 'GetQueueAttributes', queue: name };
      arn = this.#client
        .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [QueueAttributeName.QueueArn] }))
        .catch((error: unknown) => this.#fail(error, call))
        .then((out) => {
          const value = out.Attributes?.QueueArn;
          if (value === undefined)
            throw new SqsError(`GetQueueAttributes returned no QueueArn for ${name}`, { queue: name });
          return value;
        });
      this.#arns.set(name, arn);
      arn.catch(() => this.#arns.delete(name));
    }
    return arn;
  }

  /** Forgets cached URLs (after the queues were deleted). */
  forget(names: Iterable<string>): void {
    for (const name of names) {
      this.#urls.delete(name);
      this.#owned.delete(name);
      this.#arns.delete(name);
      this.#located.delete(name);
    }
  }

  async #ensure(
    name: string,
    found: Promise<string | undefined>,
    wanted: Promise<QueueSpec>,
    role: QueueRole,
  ): Promise<string> {
    wanted.catch(() => {}); // awaited below; its failure must not go unhandled meanwhile
    const existing = await found;
    if (existing !== undefined) {
      const actual = this.#attributes(name, existing);
      actual.catch(() => {}); // awaited below, after the spec
      await this.#reconcile(await wanted, existing, role, await actual);
      return existing;
    }
    const spec = await wanted;
    let url: string | undefined;
    try {
      const out = await this.#client.send(
        new CreateQueueCommand({
          QueueName: spec.name,
          Attributes: { ...spec.attributes },
          tags: { ...spec.tags },
        }),
      );
      url = out.QueueUrl;
    } catch (error) {
      if (!(error instanceof QueueNameExists))
        this.#fail(error, { step: CREATING, action: 'CreateQueue', queue: spec.name });
      // Created meanwhile by another process, with other attributes: say which.
      const raced = await this.#find(spec.name, CREATING);
      if (raced === undefined) throw error;
      await this.#reconcile(spec, raced, role, await this.#attributes(name, raced));
      return raced;
    }
    if (url === undefined)
      throw new SqsError(`CreateQueue returned no URL for ${spec.name}`, { queue: spec.name });
    const created = url;
    // Checked (and its ARN read) while it settles.
    const checked = this.#attributes(name, created).then((actual) =>
      this.#reconcile(spec, created, 'use', actual),
    );
    await Promise.all([checked, this.#settleMs > 0 ? sleep(this.#settleMs) : undefined]);
    return created;
  }

  /**
   * Compares the queue's attributes with the spec: a difference SQS cannot change is an error; the
   * others are updated in place by the owner (said as a warning), left to it by a user.
   */
  async #reconcile(
    spec: QueueSpec,
    url: string,
    role: QueueRole,
    actual: Readonly<Record<string, string | undefined>>,
  ): Promise<void> {
    const drift = attributeDrift(spec.attributes, actual);
    const [fixed] = drift.immutable;
    if (fixed !== undefined) throw new QueueConfigError(spec.name, fixed.name, fixed.wanted, fixed.actual);
    if (drift.mutable.length === 0) return;
    if (role === 'use') {
      this.#logger?.debug(
        { queue: spec.name, changes: drift.mutable },
        "queue attributes differ from this client's stage options: left as they are (the stage that consumes the queue updates them when it starts)",
      );
      return;
    }
    await this.#client
      .send(
        new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributeUpdate(drift.mutable, actual) }),
      )
      .catch((error: unknown) =>
        this.#fail(error, { step: CREATING, action: 'SetQueueAttributes', queue: spec.name }),
      );
    for (const change of drift.mutable) this.#logUpdate(spec.name, change);
  }

  /** Every attribute of the queue at `url`; its ARN is kept for {@link arn}. */
  async #attributes(name: string, url: string): Promise<Readonly<Record<string, string | undefined>>> {
    const out = await this.#client
      .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [QueueAttributeName.All] }))
      .catch((error: unknown) =>
        this.#fail(error, { step: CREATING, action: 'GetQueueAttributes', queue: name }),
      );
    const attributes = out.Attributes ?? {};
    const arn = attributes.QueueArn;
    if (arn !== undefined && !this.#arns.has(name)) this.#arns.set(name, Promise.resolve(arn));
    return attributes;
  }

  #logUpdate(queue: string, { name, wanted, actual }: AttributeChange): void {
    this.#logger?.warn(
      { queue, attribute: name, from: actual, to: wanted },
      `queue ${queue}: ${name} updated in place from ${actual ?? '(unset)'} to ${wanted} (messages kept)`,
    );
  }

  #fail(error: unknown, call: SqsCall): never {
    throw this.#diagnose(error, call);
  }
}
