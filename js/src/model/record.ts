// The front end's copy of the kernel's columnar trial record, and how messages update it.
// Rows are indexed by trial number; columns are typed arrays that grow by doubling.

import type { ParamHeader, RecordEvent, RecordMessage } from "../protocol";

export const STATE_NAMES = ["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"] as const;
export type StateName = (typeof STATE_NAMES)[number];
export const RUNNING = 0;
export const COMPLETE = 1;
export const PRUNED = 2;
export const FAIL = 3;
export const ABSENT = 255;

// The messages this record applies are declared in ../protocol (RecordMessage, RECORD_BUFFERS).
export type { ParamHeader, RecordMessage };
export type TrialEvent = RecordEvent;

export type Buffer = ArrayBuffer | ArrayBufferView;

export class TrialRecord {
  /** One more than the highest trial number seen. */
  size = 0;
  capacity = 0;
  /** Rows given their defaults so far (ABSENT, NaN, -1): the rows a message has reached. */
  private filled = 0;
  nValues = 1;
  params: ParamHeader[] = [];
  state = new Uint8Array(0);
  values: Float64Array[] = [];
  paramValues: Float64Array[] = [];
  start = new Float64Array(0);
  duration = new Float64Array(0);
  prunedStep = new Int32Array(0);
  /** Each trial's largest constraint value: > 0 infeasible, else (NaN: none set) feasible. */
  constraint = new Float32Array(0);
  intTrial = new Int32Array(0);
  intStep = new Int32Array(0);
  intValue = new Float64Array(0);
  intCount = 0;
  events: TrialEvent[] = [];
  /** The sequence number of the last message applied (0: the empty record). */
  seq = 0;
  /** Bumped by every change, so views redraw only when something changed. */
  version = 0;

  /**
   * Room for row `number`, and every row up to it given its defaults.
   *
   * Defaults are written only for the rows a message reaches, not for the whole new capacity: a
   * doubling at 524,288 trials wrote 4 MB of NaN into each of about eight columns, on top of the
   * copy, and took 250-330 ms of one message's handling in a JupyterLab tab next to a busy
   * kernel (profiled; ~40 ms in an idle page): the longest task of a million-trial run.
   */
  ensure(number: number): void {
    if (number >= this.capacity) this.growTo(Math.max(64, this.capacity * 2, number + 1));
    if (number < this.filled) return;
    const [from, to] = [this.filled, number + 1];
    this.eachColumn((c, empty) => c.fill(empty, from, to) as typeof c);
    this.filled = to;
  }

  /** Every per-trial column through `f` (given the column and its empty cell), each replaced
   * by what `f` returns: the one list of the record's columns and their defaults. */
  private eachColumn(f: <T extends Growable>(c: T, empty: number) => T): void {
    this.state = f(this.state, ABSENT);
    this.values = this.values.map((c) => f(c, NaN));
    this.paramValues = this.paramValues.map((c) => f(c, NaN));
    this.start = f(this.start, NaN);
    this.duration = f(this.duration, NaN);
    this.prunedStep = f(this.prunedStep, -1);
    this.constraint = f(this.constraint, NaN);
  }

  /**
   * Room for `rows` rows up front (at most RESERVE_MOST): the capacity only, no row written. A
   * run that says how many trials it will make gets its columns once, early, while there is
   * little to copy; their pages are committed as messages write the rows, so room a stopped run
   * never uses costs address space, not memory.
   */
  reserve(rows: number): void {
    const want = Math.min(rows, RESERVE_MOST);
    if (want > this.capacity) this.growTo(want);
  }

  private growTo(cap: number): void {
    this.eachColumn((c) => column(c, cap, this.filled));
    this.capacity = cap;
  }

  private setShape(nValues: number, nParams: number): void {
    const fresh = () => column(new Float64Array(0), this.capacity, 0).fill(NaN, 0, this.filled);
    while (this.values.length < nValues) this.values.push(fresh());
    while (this.paramValues.length < nParams) this.paramValues.push(fresh());
    this.nValues = nValues;
  }

  private pushIntermediate(trial: Int32Array, step: Int32Array, value: Float64Array): void {
    const need = this.intCount + trial.length;
    if (need > this.intTrial.length) {
      const cap = Math.max(256, this.intTrial.length * 2, need);
      this.intTrial = grow(this.intTrial, cap, 0);
      this.intStep = grow(this.intStep, cap, 0);
      this.intValue = grow(this.intValue, cap, NaN);
    }
    this.intTrial.set(trial, this.intCount);
    this.intStep.set(step, this.intCount);
    this.intValue.set(value, this.intCount);
    this.intCount = need;
  }

  /** Whether trial `n` breaks a constraint (Optuna's rule: a value above 0). */
  infeasible(n: number): boolean {
    return this.constraint[n] > 0;
  }

  /** Trial numbers present in the record, in order. */
  rows(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) if (this.state[i] !== ABSENT) out.push(i);
    return out;
  }

  /** Applies one decoded message's rows, intermediate values and events. */
  apply(msg: RecordMessage, buffers: Buffer[]): void {
    const k = msg.n_trials;
    const nv = msg.n_values;
    const np = msg.n_params;
    const number = typed(buffers[0], Int32Array);
    const state = typed(buffers[1], Uint8Array);
    const values = typed(buffers[2], Float64Array);
    const params = typed(buffers[3], Float64Array);
    const start = typed(buffers[4], Float64Array);
    const duration = typed(buffers[5], Float64Array);
    const pruned = typed(buffers[6], Int32Array);
    const constraint = typed(buffers[10], Float32Array);
    if (msg.params) this.params = msg.params.slice();
    this.setShape(nv, Math.max(np, this.params.length));
    let maxNumber = -1;
    for (let r = 0; r < k; r++) maxNumber = Math.max(maxNumber, number[r]);
    if (maxNumber >= 0) this.ensure(maxNumber);
    for (let r = 0; r < k; r++) {
      const n = number[r];
      this.state[n] = state[r];
      for (let j = 0; j < nv; j++) this.values[j][n] = values[j * k + r];
      for (let j = 0; j < np; j++) this.paramValues[j][n] = params[j * k + r];
      this.start[n] = start[r];
      this.duration[n] = duration[r];
      this.prunedStep[n] = pruned[r];
      this.constraint[n] = constraint[r] ?? NaN;
    }
    this.size = Math.max(this.size, maxNumber + 1);
    if (msg.n_intermediate > 0) {
      this.pushIntermediate(
        typed(buffers[7], Int32Array),
        typed(buffers[8], Int32Array),
        typed(buffers[9], Float64Array),
      );
    }
    for (const e of msg.events) this.events.push(e);
    this.seq = msg.seq;
    this.version++;
  }
}

/**
 * Keeps a record in step with the kernel's messages.
 *
 * Deltas are applied as they come, even after a gap (a view that rendered late missed the first
 * ones): a partial live record beats an empty one while the kernel is too busy to answer a sync.
 * On a gap it asks for the whole record once, and when that arrives the deltas received since are
 * replayed on top of it.
 *
 * A host that drops binary buffers (Colab's widget manager) delivers a binary message without
 * them: it is lost like a missed delta (the loader has already asked the kernel for base64, so
 * the whole record comes readable). Messages in the base64 form are decoded here.
 */
export class RecordSync {
  record = new TrialRecord();
  private pending: Array<[RecordMessage, Buffer[]]> | null = null;
  private gap = false;
  /** A whole record came without its buffers and was asked for again (once: see receive). */
  private fullLost = false;

  constructor(private requestSync: () => void) {}

  /** Asks for the whole record (a view opening on a model that may have missed messages). */
  sync(): void {
    if (this.pending === null) {
      this.pending = [];
      this.requestSync();
    }
  }

  /** Handles a record message; returns whether the record changed. */
  receive(msg: RecordMessage, received: Buffer[] | null | undefined): boolean {
    const buffers = recordBuffers(msg, received);
    if (buffers === null) {
      // Lost on the way (the buffers were dropped): whatever it held, the whole record has.
      this.gap = true;
      if (msg.type === "full" && this.pending !== null && !this.fullLost) {
        // The answer to our own sync: ask once more. Not again: a kernel that still answers
        // with buffers was not told, and asking again would only repeat the whole record.
        this.fullLost = true;
        this.pending = null;
      }
      this.sync();
      return false;
    }
    if (msg.type === "full") {
      if (this.pending === null && !this.gap && msg.seq <= this.record.seq) return false;
      const record = new TrialRecord();
      record.apply(msg, buffers);
      for (const [m, b] of this.pending ?? []) if (m.seq > msg.seq) record.apply(m, b);
      record.version = this.record.version + 1;
      this.record = record;
      this.pending = null;
      this.gap = false;
      this.fullLost = false;
      return true;
    }
    if (msg.seq <= this.record.seq) return false;
    if (msg.seq !== this.record.seq + 1) {
      this.gap = true;
      this.sync();
    }
    if (this.pending !== null) this.pending.push([msg, buffers]);
    this.record.apply(msg, buffers);
    return true;
  }
}

/** A record message's buffers: as received, or decoded from its base64 form; null when the
 * host dropped them (a binary message that arrived without its buffers). */
export function recordBuffers(msg: RecordMessage, received: Buffer[] | null | undefined): Buffer[] | null {
  if (msg.base64) return msg.base64.map(fromBase64);
  // The kernel always sends all RECORD_BUFFERS (empty ones too): none at all means dropped.
  return received?.length ? received : null;
}

/** The bytes of a base64 string: the browser's own decoder where it has one (Uint8Array.fromBase64),
 * else atob and one pass (20-60 ms in node for a 50,000-trial record, 4.3 MB of base64). */
export function fromBase64(text: string): ArrayBuffer {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (native) return native(text).buffer as ArrayBuffer;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

type TypedCtor<T> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A typed array over a message buffer, copied when its offset is not aligned for the type. */
export function typed<T>(buf: Buffer | undefined, Ctor: TypedCtor<T>): T {
  if (buf === undefined) return new Ctor(new ArrayBuffer(0));
  if (buf instanceof ArrayBuffer) return new Ctor(buf);
  const view = buf as ArrayBufferView;
  const copy = (view.buffer as ArrayBuffer).slice(view.byteOffset, view.byteOffset + view.byteLength);
  return new Ctor(copy);
}

/** The most rows reserve() makes room for: 86 MB of columns at one objective and one
 * parameter, 254 MB at two and ten (committed only as rows are written); a longer run grows by
 * doubling past it. */
const RESERVE_MOST = 1 << 21;

type Growable = Uint8Array | Int32Array | Float32Array | Float64Array;
type GrowableCtor<T> = { new (n: number): T };

/**
 * Column `a` with room for `cap` rows, its first `rows` copied; the new rows are zero, and
 * ensure() writes their defaults when a message reaches them. A new buffer's pages are committed
 * as they are first written, so rows not reached yet cost no memory.
 *
 * Not grown in place on a resizable ArrayBuffer: element reads of a typed array over one were 2-4
 * times slower in Chromium 156 (a loop over 1,000,000 values: 4.5 ms against 1.2 ms), and the
 * views' first draws at a million trials got 30-50% slower with them.
 */
function column<T extends Growable>(a: T, cap: number, rows: number): T {
  const out = new (a.constructor as GrowableCtor<T>)(cap);
  out.set(a.subarray(0, rows) as never);
  return out;
}

/** `a` copied into room for `cap` entries, the new ones set to `fill` (the intermediate values'
 * columns, appended to, so every new entry is written soon). */
function grow<T extends Growable>(a: T, cap: number, fill: number): T {
  return column(a, cap, a.length).fill(fill, a.length) as T;
}
