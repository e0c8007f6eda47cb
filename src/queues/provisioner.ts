import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueAttributeName,
  QueueDoesNotExist,
  QueueNameExists,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueConfigError, SqsError } from '../errors.ts';
import { type Diagnose, passThrough, type SqsCall } from '../sqs/diagnose.ts';

/** A queue this pipeline needs: its name, attributes and tags. */
export interface QueueSpec {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface ProvisionerOptions {
  /** Wait after creating a queue before using it (AWS asks for one second). @default 1000 */
  readonly settleMs?: number;
  /** Turns a failed call's error into the one to throw (a ConnectionError for a setup problem). */
  readonly diagnose?: Diagnose;
}

/** The step a queue lookup belongs to: part of creating the queues, or looking them up alone. */
const CREATING = 'creating queues';
const LOOKING_UP = 'looking up queues';

/**
 * Creates queues on first use, idempotently, and remembers their URLs. A queue that exists with
 * other attributes is a {@link QueueConfigError} naming the queue and the attribute; a failure
 * that says the setup is wrong (unreachable endpoint, credentials) is diagnosed as such.
 */
export class Provisioner {
  readonly #client: SQSClient;
  readonly #urls = new Map<string, Promise<string>>();
  readonly #arns = new Map<string, Promise<string>>();
  readonly #settleMs: number;
  readonly #diagnose: Diagnose;

  constructor(client: SQSClient, options: ProvisionerOptions = {}) {
    this.#client = client;
    this.#settleMs = options.settleMs ?? 1000;
    this.#diagnose = options.diagnose ?? passThrough;
  }

  /** URL of the queue, creating it if needed. Concurrent calls for one name share one request. */
  ensure(spec: QueueSpec): Promise<string> {
    let url = this.#urls.get(spec.name);
    if (url === undefined) {
      url = this.#ensure(spec);
      this.#urls.set(spec.name, url);
      url.catch(() => this.#urls.delete(spec.name));
    }
    return url;
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

  /** ARN of a queue (for redrive policies), asked once. */
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
      this.#arns.delete(name);
    }
  }

  async #ensure(spec: QueueSpec): Promise<string> {
    const existing = await this.#find(spec.name, CREATING);
    if (existing !== undefined) {
      await this.#checkAttributes(spec, existing);
      return existing;
    }
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
      if (raced !== undefined) await this.#checkAttributes(spec, raced);
      throw error;
    }
    if (url === undefined)
      throw new SqsError(`CreateQueue returned no URL for ${spec.name}`, { queue: spec.name });
    await this.#checkAttributes(spec, url);
    if (this.#settleMs > 0) await sleep(this.#settleMs);
    return url;
  }

  async #checkAttributes(spec: QueueSpec, url: string): Promise<void> {
    const out = await this.#client
      .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [QueueAttributeName.All] }))
      .catch((error: unknown) =>
        this.#fail(error, { step: CREATING, action: 'GetQueueAttributes', queue: spec.name }),
      );
    const actual = out.Attributes ?? {};
    for (const [name, expected] of Object.entries(spec.attributes)) {
      const value = (actual as Record<string, string | undefined>)[name];
      // An attribute the server does not report (an emulator without that feature) is not drift.
      if (value === undefined) continue;
      if (!sameAttribute(name, expected, value)) throw new QueueConfigError(spec.name, name, expected, value);
    }
  }

  #fail(error: unknown, call: SqsCall): never {
    throw this.#diagnose(error, call);
  }
}

function sameAttribute(name: string, expected: string, actual: string): boolean {
  if (expected === actual) return true;
  if (name === 'RedrivePolicy') {
    try {
      const a: unknown = JSON.parse(expected);
      const b: unknown = JSON.parse(actual);
      return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
    } catch {
      return false;
    }
  }
  return expected.toLowerCase() === actual.toLowerCase();
}

function normalize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .map(([k, v]) => [k, String(v)])
      .sort(),
  );
}
