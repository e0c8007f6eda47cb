/**
 * Items for later and permits in use, as `status` and the dashboard show them
 * (src/cli/operator/status-limits.ts, dashboard/snapshot.ts): the figures each helper queue's
 * counts give, where they go among the rows, and the table.
 */
import { describe, expect, it } from 'vitest';
import { pipelineView } from '../../src/cli/operator/dashboard/snapshot.ts';
import type { StatusRow } from '../../src/cli/operator/status.ts';
import {
  helperFigure,
  renderStageLimits,
  type StageLimits,
  withStageLimits,
} from '../../src/cli/operator/status-limits.ts';

const row = (stage: string, index: number, level: number | 'dlq', visible = 0): StatusRow => ({
  stage,
  stageIndex: index,
  level,
  queue: `d-${stage}-${level === 'dlq' ? 'dlq' : `p${level}`}.fifo`,
  visible,
  inFlight: 0,
  delayed: 0,
});

const rows = [row('work', 1, 0, 3), row('work', 1, 1), row('work', 1, 'dlq'), row('sink', 2, 0)];

describe('status: figures of a stage beyond its inputs', () => {
  it('counts every timer (delayed, visible, in flight) and permits in flight of all', () => {
    const depths = { visible: 3, inFlight: 2, delayed: 7 };
    expect(helperFigure('later', depths)).toEqual({ later: 12 });
    expect(helperFigure('rate', depths)).toEqual({ rate: { inUse: 2, limit: 5 } });
    expect(helperFigure('slots', { visible: 0, inFlight: 4, delayed: 0 })).toEqual({
      slots: { inUse: 4, limit: 4 },
    });
  });

  it("puts a stage's figures on its first row only, and leaves other stages' rows alone", () => {
    const limits = new Map<string, StageLimits>([
      ['work', { later: 4, slots: { inUse: 2, limit: 5 } }],
      ['gone', { later: 1 }],
    ]);
    const out = withStageLimits(rows, limits);
    expect(out[0]).toEqual({ ...rows[0], later: 4, slots: { inUse: 2, limit: 5 } });
    expect(out.slice(1)).toEqual(rows.slice(1));
    expect(out[1]).toBe(rows[1]);
    expect(out.filter((r) => r.later !== undefined)).toHaveLength(1);
    // JSON: the fields appear only where the stage has that queue.
    expect(Object.keys(out[0] ?? {})).toEqual([
      'stage',
      'stageIndex',
      'level',
      'queue',
      'visible',
      'inFlight',
      'delayed',
      'later',
      'slots',
    ]);
  });

  it('renders a table of the stages with figures, `-` where a stage has no such queue', () => {
    const out = withStageLimits(
      rows,
      new Map<string, StageLimits>([
        ['work', { later: 12, rate: { inUse: 40, limit: 50 }, slots: { inUse: 2, limit: 5 } }],
        ['sink', { later: 0 }],
      ]),
    );
    expect(renderStageLimits(out)?.split('\n')).toEqual([
      'STAGE  LATER  RATE IN USE  SLOTS IN USE',
      'work      12        40/50           2/5',
      'sink       0            -             -',
    ]);
    expect(renderStageLimits(rows)).toBeUndefined();
  });

  it("gives the dashboard's stage cards the same figures", () => {
    const out = withStageLimits(
      rows,
      new Map<string, StageLimits>([['work', { later: 2, rate: { inUse: 1, limit: 10 } }]]),
    );
    const [work, sink] = pipelineView(out, undefined, 1000);
    expect(work).toMatchObject({ name: 'work', later: 2, rate: { inUse: 1, limit: 10 } });
    expect(work).not.toHaveProperty('slots');
    expect(work?.levels).toHaveLength(2);
    expect(sink).not.toHaveProperty('later');
    expect(sink).not.toHaveProperty('rate');
  });
});
