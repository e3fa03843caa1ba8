// Run-time schemas of the messages declared in ./protocol, for the tests that read the kernel's
// examples (protocol.test.ts). Kept out of protocol.ts so that the loader and the bundle, which
// import its request builders, do not carry them.

import type {
  BestTrial,
  BundleMessage,
  BundleRequest,
  EnqueueRequest,
  ImportanceRequest,
  ImportanceTrait,
  MetaTrait,
  NoBuffersRequest,
  ParamHeader,
  RecordEvent,
  RecordMessage,
  RunMoreRequest,
  SpaceRow,
  StatusTrait,
  SteerMessage,
  StopRequest,
  SyncRequest,
  TrialDetailMessage,
  TrialRequest,
} from "./protocol";

// --------------------------------------------------------------- schemas
// What a test checks a message against at run time. `Schema<T>` has one entry per key of T, no
// more and no fewer (the compiler checks), so a key added to an interface needs its entry here.

export type JsType = "string" | "number" | "boolean" | "array" | "object" | "null";
export interface Field {
  types: readonly JsType[];
  optional?: boolean;
}
export type Schema<T> = { [K in keyof Required<T>]: Field };

const f = (...types: JsType[]): Field => ({ types });
const opt = (...types: JsType[]): Field => ({ types, optional: true });

export const SCHEMAS = {
  meta: {
    study_name: f("string"), directions: f("array"), objective_names: f("array"),
    sampler: f("string"), pruner: f("string"), storage: f("string"),
    n_trials: f("number", "null"), timeout: f("number", "null"), n_jobs: f("number"),
    watch: f("boolean"), space: f("array"), steer: opt("array"),
  } satisfies Schema<MetaTrait>,
  spaceRow: {
    name: f("string"), kind: f("string"), distribution: f("string"), line: f("number", "null"), dynamic: f("boolean"),
  } satisfies Schema<SpaceRow>,
  status: {
    at: f("number"), state: f("string"), note: f("string", "null"), error: f("string", "null"),
    n_done: f("number"), n_trials: f("number", "null"), timeout: f("number", "null"),
    started_at: f("number"), elapsed: f("number"), rate: f("number"), eta: f("number", "null"),
    counts: f("object"), best: f("object", "null"),
  } satisfies Schema<StatusTrait>,
  best: { number: f("number"), values: f("array"), params: f("object") } satisfies Schema<BestTrial>,
  importance: { values: f("object"), note: f("string"), n_trials: f("number") } satisfies Schema<ImportanceTrait>,
  param: { name: f("string"), kind: f("string"), log: f("boolean"), choices: f("array", "null"), distribution: f("string"),
    low: opt("number"), high: opt("number"), step: opt("number", "null") } satisfies Schema<ParamHeader>,
  event: {
    kind: f("string"), time: f("number"), trial: opt("number"), step: opt("number"),
    value: opt("number"), message: opt("string"),
  } satisfies Schema<RecordEvent>,
  record: {
    type: f("string"), seq: f("number"), n_trials: f("number"), n_values: f("number"),
    n_params: f("number"), n_intermediate: f("number"), events: f("array"), params: opt("array"),
    status: opt("object"), base64: opt("array"),
  } satisfies Schema<RecordMessage>,
  trial: { type: f("string"), number: f("number"), traceback: f("string"), user_attrs: f("object") } satisfies Schema<TrialDetailMessage>,
  bundle: { type: f("string"), version: f("string"), part: opt("string"), code: opt("string") } satisfies Schema<BundleMessage>,
  syncRequest: { type: f("string") } satisfies Schema<SyncRequest>,
  stopRequest: { type: f("string") } satisfies Schema<StopRequest>,
  trialRequest: { type: f("string"), number: f("number") } satisfies Schema<TrialRequest>,
  bundleRequest: { type: f("string"), version: f("string"), part: opt("string") } satisfies Schema<BundleRequest>,
  noBuffersRequest: { type: f("string") } satisfies Schema<NoBuffersRequest>,
  importanceRequest: { type: f("string"), view: f("string"), open: f("boolean") } satisfies Schema<ImportanceRequest>,
  steer: { type: f("string"), id: f("string"), action: f("string"), state: f("string"), message: f("string") } satisfies Schema<SteerMessage>,
  runMoreRequest: { type: f("string"), id: f("string"), n_trials: f("number"), confirm: f("boolean") } satisfies Schema<RunMoreRequest>,
  enqueueRequest: { type: f("string"), id: f("string"), params: f("object") } satisfies Schema<EnqueueRequest>,
} as const;

/** The JS type of a decoded JSON value, as the schemas name them. */
export function jsType(value: unknown): JsType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  return t === "string" || t === "number" || t === "boolean" ? t : "object";
}

/** What is wrong with `value` against `schema` (missing keys, wrong types, unknown keys). */
export function conformance(value: unknown, schema: Record<string, Field>): string[] {
  if (jsType(value) !== "object") return [`not an object: ${jsType(value)}`];
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, field] of Object.entries(schema)) {
    if (!(key in obj)) {
      if (!field.optional) problems.push(`missing ${key}`);
    } else if (!field.types.includes(jsType(obj[key]))) {
      problems.push(`${key}: ${jsType(obj[key])}, expected ${field.types.join(" | ")}`);
    }
  }
  for (const key of Object.keys(obj)) if (!(key in schema)) problems.push(`unknown key ${key}`);
  return problems;
}
