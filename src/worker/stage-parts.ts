import { joinDeadlines } from '../join/deadline.ts';
import { JoinGate } from '../join/gate.ts';
import { JoinReporter } from '../join/reporter.ts';
import { S3JoinStateStore } from '../payloads/join-state-s3.ts';
import { Reporter } from '../replies/reporter.ts';
import type { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { maxBodyBytes } from './forwarder.ts';
import type { RunDeps } from './run-deps.ts';

/**
 * The parts a consuming stage's calls report through, made alike wherever the stage runs (a
 * process's {@link StageRunner}, or Lambda: see src/lambda/): to senders, to joins, and a join's
 * state of its items.
 */
export interface StageReporters {
  readonly reporter: Reporter;
  /** Reports to joins: needed where a join's scope may reach (any stage of a pipeline with one). */
  readonly joinReporter: JoinReporter | undefined;
  /** A join stage's state of its items, in the `payloads` bucket; undefined for other stages. */
  readonly joinGate: JoinGate | undefined;
}

export function stageReporters(stage: Stage, deps: RunDeps, io: RunIo): StageReporters {
  const reporter = new Reporter({
    domain: deps.queues.topology.domain,
    stage: stage.name,
    find: (name) => deps.queues.find(name),
    send: (url, message) => io.send(url, message),
    logger: deps.logger,
    maxResultBytes: deps.io.payloads === undefined ? undefined : maxBodyBytes(deps.io),
  });
  const joinReporter = deps.queues.topology.stages.some((s) => s.join !== undefined)
    ? new JoinReporter({
        stage: stage.name,
        queues: deps.queues,
        send: (url, message) => io.send(url, message),
      })
    : undefined;
  return { reporter, joinReporter, joinGate: joinGateOf(stage, deps) };
}

/** A join stage's state of its items, in the `payloads` bucket (the caller checked there is one). */
function joinGateOf(stage: Stage, deps: RunDeps): JoinGate | undefined {
  const payloads = deps.io.payloads;
  if (stage.join === undefined || payloads === undefined) return undefined;
  const states = new S3JoinStateStore({
    store: payloads.store,
    domain: deps.queues.topology.domain,
    join: stage.name,
    logger: deps.logger,
  });
  const timers = deps.later; // the join's time limits go back to its own input
  const deadline = joinDeadlines({
    stage,
    at: async (timer) => {
      await timers.at(timer);
    },
    inputUrl: (level) => deps.queues.inputUrl(stage, level),
  });
  return new JoinGate({ stage, store: states, deadline });
}
