// One-line notes for trials without a value: a pruned trial's last reported value and step, a
// failed trial's reason. Read from the record's events as they come (each event once).

import { formatNumber } from "../model/derive";
import type { TrialRecord } from "../model/record";

export interface TrialNotes {
  /** Reads the events that came since the last call. */
  update(rec: TrialRecord): void;
  pruned(n: number): string;
  failed(n: number): string;
}

export function trialNotes(): TrialNotes {
  const pruned = new Map<number, { step?: number; value?: number }>();
  const failed = new Map<number, string>();
  let read = 0;
  return {
    update(rec) {
      const events = rec.events;
      if (events.length < read) {
        // A new record (a full sync): read it from the start.
        pruned.clear();
        failed.clear();
        read = 0;
      }
      for (; read < events.length; read++) {
        const e = events[read];
        if (e.trial === undefined || e.trial === null) continue;
        if (e.kind === "pruned") pruned.set(e.trial, { step: e.step, value: e.value });
        else if (e.kind === "failed") failed.set(e.trial, (e.message ?? "").split("\n")[0]);
      }
    },
    pruned(n) {
      const p = pruned.get(n);
      if (!p) return "pruned";
      const at = p.step !== undefined && p.step !== null ? ` at step ${p.step}` : "";
      return p.value !== undefined && p.value !== null ? `${formatNumber(p.value)}${at} (pruned)` : `pruned${at}`;
    },
    failed(n) {
      const reason = failed.get(n);
      return reason ? `failed: ${reason}` : "failed";
    },
  };
}
