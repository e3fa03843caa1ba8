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

import { bundleRequest, noBuffersRequest, type BundleMessage } from "./protocol";

interface Model {
  on(event: string, cb: (...args: never[]) => void): void;
  off(event?: string | null, cb?: ((...args: never[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}
interface Widget {
  initialize?(props: { model: Model }): unknown;
  render(props: { model: Model; el: HTMLElement }): unknown;
}

/** Replaced by the kernel with a hash of the bundle: a page keeps one bundle per version. */
const VERSION = "__OPTUNA_MAGIC_BUNDLE__";
/** How long to wait for the kernel before the view says it needs one (no kernel: a notebook
 * reopened with saved widget state; the static snapshot below the panel shows the run). */
const WAIT_MS = 30_000;

const KEY = `optuna-magic:${VERSION}`;
/** Set on a page whose host dropped the bundle's buffer (any version's loader reads it). */
const NO_BUFFERS = "optuna-magic:no-buffers";
const pages = globalThis as unknown as Record<string, Promise<Widget> | boolean | undefined>;

/** How the bundle's code becomes a module (a test replaces it: vitest cannot import a Blob URL). */
export const modules = {
  load(code: BlobPart): Promise<{ default: Widget }> {
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    return import(/* @vite-ignore */ url).finally(() => URL.revokeObjectURL(url));
  },
};

function request(model: Model): Promise<Widget> {
  return new Promise((resolve, reject) => {
    let askedForText = false;
    const timer = setTimeout(() => {
      model.off("msg:custom", onMessage as (...args: never[]) => void);
      reject(new Error("the kernel did not send the panel"));
    }, WAIT_MS);
    const onMessage = (content: Partial<BundleMessage> | undefined, buffers?: Array<ArrayBuffer | DataView> | null) => {
      if (content?.type !== "bundle" || content.version !== VERSION) return;
      const code = typeof content.code === "string" ? content.code : buffers?.[0];
      if (!buffers?.length) pages[NO_BUFFERS] = true;
      if (code === undefined) {
        // The host dropped the buffer: ask for the code as text (once; the timer still runs).
        if (!askedForText) {
          askedForText = true;
          model.send(noBuffersRequest());
          model.send(bundleRequest(VERSION));
        }
        return;
      }
      clearTimeout(timer);
      model.off("msg:custom", onMessage as (...args: never[]) => void);
      modules.load(code as BlobPart).then((m) => resolve(m.default), reject);
    };
    model.on("msg:custom", onMessage as (...args: never[]) => void);
    model.send(bundleRequest(VERSION));
  });
}

/** The bundle's widget: the page's copy, or asked of this model's kernel. */
function load(model: Model): Promise<Widget> {
  let widget = pages[KEY] as Promise<Widget> | undefined;
  if (!widget) {
    widget = request(model);
    pages[KEY] = widget;
    // A failed request (no kernel) is not kept: the next panel asks again.
    widget.catch(() => {
      if (pages[KEY] === widget) delete pages[KEY];
    });
  }
  return widget;
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
    return widget.render({ model, el });
  },
};
