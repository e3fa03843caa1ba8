// The wire format between the kernel's panel and this front end, declared once on this side.
// The kernel declares the same in optuna_magic/outputs/panel/wire.py. tests/test_wire.py writes
// one real example of every message to src/fixtures/wire.json; protocol.test.ts checks each
// against protocolSchema.ts (one entry per key of each interface here) and decodes them through
// the real record code, so a change on one side fails a test on the other.
//
// Traits (small, bounded): `meta`, `status`, `importance`. Each starts as `{}` until the kernel
// sets it, so the views read them as `Partial<...>`.
// Custom messages from the kernel: record `delta` / `full` (with RECORD_BUFFERS), `trial`, `bundle`,
// `steer` (the answer to `run_more` / `enqueue`).
// Custom messages to the kernel: `sync`, `stop`, `trial`, `bundle`, `no_buffers`, `importance`,
// `run_more`, `enqueue`.
//
// Hosts that drop binary buffers (Colab's widget manager): the loader sees the bundle arrive
// without its buffer and sends `no_buffers`; from then on the kernel sends the bundle as text
// (`BundleMessage.code`) and the record's buffers as base64 strings (`RecordMessage.base64`),
// which every front end reads. Elsewhere nothing changes: binary buffers, no extra message.

// ------------------------------------------------------------------ traits
export interface SpaceRow {
  name: string;
  kind: string;
  distribution: string;
  line: number | null;
  /** A name or bounds computed when a trial reaches it (`name=f"units_{i}"`): shown as written. */
  dynamic?: boolean;
}

export interface MetaTrait {
  study_name: string;
  directions: string[];
  objective_names: string[];
  sampler: string;
  pruner: string;
  storage: string;
  n_trials: number | null;
  timeout: number | null;
  n_jobs: number;
  /** `%optuna watch`: the trials run elsewhere; nothing here can stop them. */
  watch: boolean;
  space: SpaceRow[];
  /** What the kernel side can steer: "run_more" (after the run ends), "enqueue". */
  steer?: string[];
}

export interface BestTrial {
  number: number;
  values: number[];
  params: Record<string, string | number>;
}

export interface StatusTrait {
  /** When the kernel computed it (epoch seconds): the newer of two statuses wins. */
  at: number;
  state: string;
  /** A plain-words remark on the state (a watch: whether anybody optimizes the study). */
  note: string | null;
  error: string | null;
  n_done: number;
  n_trials: number | null;
  timeout: number | null;
  started_at: number;
  elapsed: number;
  rate: number;
  eta: number | null;
  counts: Record<string, number>;
  best: BestTrial | null;
}

export interface ImportanceTrait {
  values: Record<string, number>;
  note: string;
  n_trials: number;
}

// ------------------------------------------------------- from the kernel
export interface ParamHeader {
  name: string;
  kind: "int" | "float" | "categorical";
  log: boolean;
  choices: string[] | null;
  /** The distribution in words, e.g. "int [1, 8]" (the search space view); "" from an older kernel. */
  distribution?: string;
  /** A numeric parameter's bounds and step where known (an edited value is checked against them). */
  low?: number;
  high?: number;
  step?: number | null;
}

/** One entry of the event log; fields without a value are left out. */
export interface RecordEvent {
  kind: string;
  time: number;
  trial?: number;
  step?: number;
  value?: number;
  message?: string;
}

export interface RecordMessage {
  type: "delta" | "full";
  seq: number;
  n_trials: number;
  n_values: number;
  n_params: number;
  n_intermediate: number;
  events: RecordEvent[];
  /** The parameters' headers: always in a `full`, in a delta only where they changed (a new
   * parameter, a new choice); a view that missed a delta sees the gap in `seq` and syncs. */
  params?: ParamHeader[];
  /** Deltas carry the status, so one message a flush keeps the header fresh. */
  status?: StatusTrait;
  /** For a host that drops binary buffers: RECORD_BUFFERS as base64 strings, and no buffers. */
  base64?: string[];
}

/** The buffers of a record message, in order, with their element types. */
export const RECORD_BUFFERS = [
  ["number", "i4"],
  ["state", "u1"],
  ["values", "f8"], // column-major: n_values blocks of n_trials
  ["params", "f8"], // column-major: n_params blocks of n_trials
  ["start", "f8"],
  ["duration", "f8"],
  ["pruned_step", "i4"],
  ["int_trial", "i4"],
  ["int_step", "i4"],
  ["int_value", "f8"],
  ["constraint", "f4"], // per trial, its largest constraint value: > 0 infeasible
] as const;

export interface TrialDetailMessage {
  type: "trial";
  number: number;
  traceback: string;
  user_attrs: Record<string, unknown>;
}

/** Its one buffer is an ES module: the panel's, or plotly's where `part` says so. */
export interface BundleMessage {
  type: "bundle";
  version: string;
  /** Absent: the panel. "plotly": plotly.js, which the panel asks for once it is on screen. */
  part?: BundlePart;
  /** For a host that drops binary buffers: the ES module as text, and no buffer. */
  code?: string;
}

/** The kernel's answer to a `run_more` or `enqueue` request, in words to show. */
export interface SteerMessage {
  type: "steer";
  id: string;
  action: "run_more" | "enqueue";
  /** run_more: "ready" (then confirm), "started"; enqueue: "enqueued"; both: "refused". */
  state: "ready" | "started" | "enqueued" | "refused";
  message: string;
}

export type KernelMessage = RecordMessage | TrialDetailMessage | BundleMessage | SteerMessage;

// --------------------------------------------------------- to the kernel
export interface SyncRequest {
  type: "sync";
}
export interface StopRequest {
  type: "stop";
}
export interface TrialRequest {
  type: "trial";
  number: number;
}
/** The parts of the panel's code a page asks for: the panel itself, then plotly. */
export type BundlePart = "plotly";
export interface BundleRequest {
  type: "bundle";
  version: string;
  /** Absent: the panel's module; "plotly": plotly.js (the kernel sends it apart from the panel,
   * so a panel shows its header and table before plotly has travelled). */
  part?: BundlePart;
}
/** This page's host drops binary buffers: the kernel sends this panel's bundle and record
 * without them from now on. */
export interface NoBuffersRequest {
  type: "no_buffers";
}
/** A view that shows the importance opens or closes: the kernel ranks only while one is open. */
export interface ImportanceRequest {
  type: "importance";
  view: string;
  open: boolean;
}
/** "Run N more", in two steps: `confirm: false` asks, and only a `confirm: true` of the same id
 * after the kernel's "ready" starts the run (a request that waited behind a busy cell, which
 * the panel gave up on, is never confirmed). */
export interface RunMoreRequest {
  type: "run_more";
  id: string;
  n_trials: number;
  confirm: boolean;
}
/** Enqueue a trial's edited parameters (a choice by its label). */
export interface EnqueueRequest {
  type: "enqueue";
  id: string;
  params: Record<string, string | number>;
}
export type FrontendRequest =
  | SyncRequest | StopRequest | TrialRequest | BundleRequest | NoBuffersRequest | ImportanceRequest | RunMoreRequest | EnqueueRequest;

export const syncRequest = (): SyncRequest => ({ type: "sync" });
export const stopRequest = (): StopRequest => ({ type: "stop" });
export const trialRequest = (number: number): TrialRequest => ({ type: "trial", number });
export const bundleRequest = (version: string, part?: BundlePart): BundleRequest =>
  part ? { type: "bundle", version, part } : { type: "bundle", version };
export const noBuffersRequest = (): NoBuffersRequest => ({ type: "no_buffers" });
export const importanceRequest = (view: string, open: boolean): ImportanceRequest => ({ type: "importance", view, open });
export const runMoreRequest = (id: string, n_trials: number, confirm: boolean): RunMoreRequest => ({ type: "run_more", id, n_trials, confirm });
export const enqueueRequest = (id: string, params: Record<string, string | number>): EnqueueRequest => ({ type: "enqueue", id, params });
