// The `_esm` of every panel: a small loader that asks the kernel for the panel bundle once per
// page and shares it between all panels of the page.
//
// anywidget sends a widget's `_esm` inside every comm_open and keeps it in the notebook's saved
// widget state: with the bundle itself there (1.6 MB, plotly included) each `%%optuna` run cost
// the kernel ~40 ms of JSON encoding before its first trial, and a notebook saved with widget
// state grew by the bundle per output. The loader is ~1 kB; the bundle travels once per page, as
// a binary buffer of a custom message (no JSON encoding of it, and no signing: Jupyter signs
// message parts, not buffers). The messages are declared in ./protocol (BundleRequest, BundleMessage).
//
// A host that drops binary buffers (Colab's widget manager, googlecolab/colab-cdn-widget-manager
// issue 33) delivers the bundle message without its buffer. The loader then tells the kernel
// (`no_buffers`) and asks again: the kernel answers with the code as text, and sends this
// panel's record as base64 from then on. Every later panel of such a page says `no_buffers`
// before the bundle subscribes to it. A host that keeps buffers never sends it: no extra message,
// no extra byte.
//
// The first panel a kernel draws for a cell carries the code itself, as the `_code` text of its
// comm_open: a page that has no copy then imports it at once, without the request and its
// reply, which in a kernel's first %%optuna cell waited for JupyterLab to open the comm's
// subshell (~90 ms on a busy kernel) and for the kernel to answer (~45 ms). Later panels carry
// none. Text, not a buffer: a host that drops buffers could not open a comm whose state names one.
//
// plotly (1.5 MB of the 1.65 MB) is a part of its own: the bundle asks for it through the loader
// (the `plotly` prop of render) once its first panel is on screen, so the header and the table
// do not wait for plotly to travel and be parsed.

import { bundleRequest, noBuffersRequest, type BundleMessage, type BundlePart } from "./protocol";

interface Model {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  on(event: string, cb: (...args: never[]) => void): void;
  off(event?: string | null, cb?: ((...args: never[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}
/** What the loader gives the bundle beside anywidget's props: plotly, asked of this panel's
 * kernel once the panel is on screen (the page keeps one copy). */
export interface LoaderProps {
  plotly(): Promise<unknown>;
}
interface Widget {
  initialize?(props: { model: Model }): unknown;
  render(props: { model: Model; el: HTMLElement } & LoaderProps): unknown;
}

/** Replaced by the kernel with a hash of the bundle: a page keeps one bundle per version. */
const VERSION = "__OPTUNA_MAGIC_BUNDLE__";
/** How long to wait for the kernel before the view says it needs one (no kernel: a notebook
 * reopened with saved widget state; the static snapshot below the panel shows the run). */
const WAIT_MS = 30_000;
/** How long one kernel may take with plotly before the next panel asks its own kernel too (the
 * first may be blocked by a run that does not hear the front end, or gone). */
const PLOTLY_RETRY_MS = 3_000;

const KEY = `optuna-magic:${VERSION}`;
const PLOTLY_KEY = `${KEY}:plotly`;
/** Set on a page whose host dropped the bundle's buffer (any version's loader reads it). */
const NO_BUFFERS = "optuna-magic:no-buffers";
const pages = globalThis as unknown as Record<string, unknown>;

/** How the bundle's code becomes a module (a test replaces it: vitest cannot import a Blob URL). */
export const modules = {
  load(code: BlobPart): Promise<{ default: unknown }> {
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    return import(/* @vite-ignore */ url).finally(() => URL.revokeObjectURL(url));
  },
};

type Listener = (...args: never[]) => void;

/**
 * Asks `model`'s kernel for one part of the bundle; `done` gets the module's default export
 * once its code is here. Returns how to stop listening.
 */
function ask(model: Model, part: BundlePart | undefined, done: (m: unknown) => void, fail: (e: unknown) => void): () => void {
  let askedForText = false;
  const onMessage = (content: Partial<BundleMessage> | undefined, buffers?: Array<ArrayBuffer | DataView> | null) => {
    if (content?.type !== "bundle" || content.version !== VERSION || content.part !== part) return;
    const code = typeof content.code === "string" ? content.code : buffers?.[0];
    if (!buffers?.length) pages[NO_BUFFERS] = true;
    if (code === undefined) {
      // The host dropped the buffer: ask for the code as text (once).
      if (!askedForText) {
        askedForText = true;
        model.send(noBuffersRequest());
        model.send(bundleRequest(VERSION, part));
      }
      return;
    }
    stop();
    modules.load(code as BlobPart).then((m) => done(m.default), fail);
  };
  const stop = () => model.off("msg:custom", onMessage as Listener);
  model.on("msg:custom", onMessage as Listener);
  model.send(bundleRequest(VERSION, part));
  return stop;
}

/** The panel's code where the kernel sent it with the panel (`_code`: the first panel a kernel
 * draws for a cell, see optuna_magic/outputs/panel/bundle.py), forgotten by the model once read
 * so that a saved widget state does not keep it. Null where it is not there (a later panel of
 * the kernel, a page opened after the first panel's run). */
function sentWithPanel(model: Model): string | null {
  const code = model.get("_code");
  if (typeof code !== "string" || code === "") return null;
  model.set("_code", "");
  return code;
}

/** The bundle's widget: the page's copy, sent with this panel, or asked of this model's kernel. */
function load(model: Model): Promise<Widget> {
  let widget = pages[KEY] as Promise<Widget> | undefined;
  const code = widget ? null : sentWithPanel(model);
  if (!widget && code) {
    widget = modules.load(code).then((m) => m.default as Widget);
    pages[KEY] = widget;
    // A code that does not load (it cannot: the kernel built it) is not kept: asked again.
    const failed = widget;
    failed.catch(() => {
      if (pages[KEY] === failed) delete pages[KEY];
    });
  }
  if (!widget) {
    widget = new Promise<Widget>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error("the kernel did not send the panel"));
      }, WAIT_MS);
      const stop = ask(model, undefined, (m) => (clearTimeout(timer), resolve(m as Widget)), reject);
    });
    pages[KEY] = widget;
    // A failed request (no kernel) is not kept: the next panel asks again.
    const failed = widget;
    failed.catch(() => {
      if (pages[KEY] === failed) delete pages[KEY];
    });
  }
  return widget;
}

interface PlotlyLoad {
  promise: Promise<unknown>;
  resolve(m: unknown): void;
  reject(e: unknown): void;
  asked: Map<Model, () => void>; // each model asked, and how to stop listening to it
  since: number; // when the latest model was asked
  done: boolean;
}

/**
 * plotly: the page's copy, or asked of this model's kernel. It has no time limit: the panel's
 * own code came from a kernel, so one is there, but it may answer only once a run that blocks
 * it ends. While the page waits longer than PLOTLY_RETRY_MS, each newly drawn panel asks its
 * own kernel too (the first may have been restarted), and the first answer serves them all.
 */
function loadPlotly(model: Model): Promise<unknown> {
  let load = pages[PLOTLY_KEY] as PlotlyLoad | undefined;
  if (!load) {
    let resolve!: (m: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
    const created: PlotlyLoad = { promise, resolve, reject, asked: new Map(), since: 0, done: false };
    const settle = () => {
      created.done = true;
      for (const stop of created.asked.values()) stop();
      created.asked.clear();
    };
    promise.then(settle, () => {
      settle();
      if (pages[PLOTLY_KEY] === created) delete pages[PLOTLY_KEY]; // the next panel asks again
    });
    pages[PLOTLY_KEY] = load = created;
  }
  const pending = load;
  const due = pending.asked.size === 0 || Date.now() - pending.since > PLOTLY_RETRY_MS;
  if (!pending.done && due && !pending.asked.has(model)) {
    pending.since = Date.now();
    pending.asked.set(model, ask(model, "plotly", pending.resolve, pending.reject));
  }
  return pending.promise;
}

export default {
  initialize({ model }: { model: Model }) {
    // Not awaited: anywidget renders nothing until initialize ends, and the view should say
    // it is loading. The bundle's own initialize subscribes to the model as soon as it is here.
    let cleanup: unknown;
    let closed = false;
    load(model).then(
      (widget) => {
        if (closed) return;
        // Before the bundle's first sync, so the kernel answers it (and what follows) in a
        // form this page can read.
        if (pages[NO_BUFFERS]) model.send(noBuffersRequest());
        cleanup = widget.initialize?.({ model });
      },
      () => undefined,
    );
    return () => {
      closed = true;
      if (typeof cleanup === "function") cleanup();
    };
  },
  async render({ model, el }: { model: Model; el: HTMLElement }) {
    el.textContent = "optuna-magic: loading the panel\u2026";
    let widget: Widget;
    try {
      widget = await load(model);
    } catch {
      el.textContent = "optuna-magic: the live panel needs its kernel; the snapshot below shows the run.";
      return undefined;
    }
    el.textContent = "";
    return widget.render({ model, el, plotly: () => loadPlotly(model) });
  },
};
