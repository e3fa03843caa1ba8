// Test helpers: record messages encoded the way the kernel (optuna_magic/outputs/panel/record.py) encodes them.

import type { ParamHeader, RecordMessage, TrialEvent } from "./model/record";

export interface Row {
  number: number;
  state: number;
  values?: number[];
  params?: number[];
  start?: number;
  duration?: number;
  prunedStep?: number;
  /** The largest constraint value (absent: none set). */
  constraint?: number;
}

export function encode(
  type: "delta" | "full",
  seq: number,
  rows: Row[],
  o: { params?: ParamHeader[]; nValues?: number; intermediate?: Array<[number, number, number]>; events?: TrialEvent[] } = {},
): [RecordMessage, ArrayBuffer[]] {
  const params = o.params ?? [];
  const nv = o.nValues ?? 1;
  const k = rows.length;
  const values = new Float64Array(nv * k).fill(NaN);
  const pv = new Float64Array(params.length * k).fill(NaN);
  rows.forEach((r, i) => {
    (r.values ?? []).forEach((v, j) => (values[j * k + i] = v));
    (r.params ?? []).forEach((v, j) => (pv[j * k + i] = v));
  });
  const inter = o.intermediate ?? [];
  const msg: RecordMessage = {
    type, seq, n_trials: k, n_values: nv, n_params: params.length, n_intermediate: inter.length,
    events: o.events ?? [], params,
  };
  return [
    msg,
    [
      Int32Array.from(rows.map((r) => r.number)).buffer,
      Uint8Array.from(rows.map((r) => r.state)).buffer,
      values.buffer,
      pv.buffer,
      Float64Array.from(rows.map((r) => r.start ?? 1.7e9 + r.number)).buffer,
      Float64Array.from(rows.map((r) => r.duration ?? (r.state === 0 ? NaN : 1.5))).buffer,
      Int32Array.from(rows.map((r) => r.prunedStep ?? -1)).buffer,
      Int32Array.from(inter.map((x) => x[0])).buffer,
      Int32Array.from(inter.map((x) => x[1])).buffer,
      Float64Array.from(inter.map((x) => x[2])).buffer,
      Float32Array.from(rows.map((r) => r.constraint ?? NaN)).buffer,
    ],
  ];
}

export const PARAMS: ParamHeader[] = [
  { name: "x", kind: "float", log: false, choices: null },
  { name: "act", kind: "categorical", log: false, choices: ["relu", "<img src=x onerror=alert(1)>"] },
];

/** A fake anywidget model: traits in a map, events by name, sent messages recorded. */
export class FakeModel {
  traits = new Map<string, unknown>();
  handlers = new Map<string, Set<(...a: unknown[]) => void>>();
  sent: unknown[] = [];

  constructor(traits: Record<string, unknown> = {}) {
    for (const [k, v] of Object.entries(traits)) this.traits.set(k, v);
  }
  get(key: string): unknown {
    return this.traits.get(key);
  }
  set(key: string, value: unknown): void {
    this.traits.set(key, value);
    this.emit(`change:${key}`);
  }
  on(event: string, cb: (...a: never[]) => void): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(cb as (...a: unknown[]) => void);
  }
  off(event?: string | null, cb?: ((...a: never[]) => void) | null): void {
    if (event && cb) this.handlers.get(event)?.delete(cb as (...a: unknown[]) => void);
  }
  send(content: unknown): void {
    this.sent.push(content);
  }
  emit(event: string, ...args: unknown[]): void {
    this.handlers.get(event)?.forEach((h) => h(...args));
  }
  /** A custom message from the kernel. */
  message(content: unknown, buffers: ArrayBuffer[] = []): void {
    this.emit("msg:custom", content, buffers);
  }
}
