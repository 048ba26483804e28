import { workerData } from 'node:worker_threads';

import { UserError } from '../core/errors';
import { chunkBytes, chunkReader, chunkView, openReadOnly, SlotState, USER_ERROR, type WorkerData } from './reader';

/** One reader thread of readEventChunks(): reads its chunks into the shared slots (see readInWorkers). */
const { path, plan, worker, workers, slots, control, counts, errors } = workerData as WorkerData;
const state = new Int32Array(control);
const countOf = new Int32Array(counts);
const slotCount = state.length;
const slotBytes = chunkBytes(plan.capacity);
let slot = worker;
try {
  const db = openReadOnly(path);
  const read = chunkReader(db, plan);
  for (let k = worker; k < plan.from.length; k += workers) {
    slot = k % slotCount;
    while (Atomics.load(state, slot) === SlotState.Full) Atomics.wait(state, slot, SlotState.Full);
    if (Atomics.load(state, slot) === SlotState.Stopped) break;
    Atomics.store(countOf, slot, read(k, chunkView(slots, slot * slotBytes, plan.capacity, plan.capacity)));
    Atomics.store(state, slot, SlotState.Full);
    Atomics.notify(state, slot);
  }
  db.close();
} catch (err) {
  errors.postMessage(`${err instanceof UserError ? USER_ERROR : ''}${(err as Error).message}`);
  Atomics.store(state, slot, SlotState.Failed);
  Atomics.notify(state, slot);
}
errors.close();
