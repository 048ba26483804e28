import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { RunFile } from '../runfile/runfile';
import { SiteNamer } from '../analyzer/sitenames';
import { Func, Stage } from '../core/events';
import { writeRunFile } from './lib/synthetic';
import { scratchDir } from './lib/workloads';

test("a kernel stack taken by a tracepoint program is shown without the tracer's own frames", () => {
  const path = join(scratchDir(), 'tracer-frames.db');
  const [prog, run2, iter, slowpath, fdget] = [-0x1000, -0x2000, -0x3000, -0x4000, -0x5000];
  writeRunFile(
    path,
    [
      { ts: 1, stage: Stage.Request, func: Func.KernelContention, tid: 1, lock: -0x9000, ret: 0, stackId: 7 },
      { ts: 2, stage: Stage.Acquired, func: Func.KernelContention, tid: 1, lock: -0x9000, ret: 0 },
    ],
    {
      stacks: { 7: [prog, run2, iter, slowpath, fdget] },
      symbols: [
        { address: prog, name: 'bpf_prog_6deef7357e7b4530_on_contention_begin+0x1a4', kind: 'code' },
        { address: run2, name: 'bpf_trace_run2+0x7a', kind: 'code' },
        { address: iter, name: '__traceiter_contention_begin+0x4d', kind: 'code' },
        { address: slowpath, name: '__mutex_lock.constprop.0+0x2a8', kind: 'code' },
        { address: fdget, name: '__fdget_pos+0x4b', kind: 'code' },
      ],
    },
  );
  const run = RunFile.open(path);
  assert.deepEqual(new SiteNamer(run).stack(7, 0), ['__mutex_lock.constprop.0+0x2a8', '__fdget_pos+0x4b']);
  run.close();
});
