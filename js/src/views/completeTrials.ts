// What the views drawn from complete trials alone (Rank, EDF, hypervolume) redraw on: the set of
// complete trials. A trial's state only ever moves on to COMPLETE (never back) and a complete
// trial's values and parameters never change, so that set is known by its size within one
// record; a full sync brings a new record object, and with it a new key.

import { COMPLETE, type TrialRecord } from "../model/record";

const counts = new WeakMap<TrialRecord, { version: number; count: number }>();
const ids = new WeakMap<TrialRecord, number>();
let nextId = 0;

/** How many trials of the record are complete (counted once per record version). */
export function completeCount(rec: TrialRecord): number {
  const hit = counts.get(rec);
  if (hit && hit.version === rec.version) return hit.count;
  let count = 0;
  const state = rec.state;
  for (let n = 0; n < rec.size; n++) if (state[n] === COMPLETE) count++;
  counts.set(rec, { version: rec.version, count });
  return count;
}

/** A key that changes when the record's complete trials (or its parameters) change, and only then. */
export function completeKey(rec: TrialRecord): string {
  let id = ids.get(rec);
  if (id === undefined) ids.set(rec, (id = nextId++));
  return `${id}|${completeCount(rec)}|${rec.params.length}`;
}
