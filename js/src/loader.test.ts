// The loader's side of the negotiation with the kernel: a host that keeps binary buffers gets
// the bundle as a buffer and nothing else changes; a host that drops them (Colab's widget
// manager) says `no_buffers`, gets the code as text, and says it again for every later panel of
// the page before the bundle subscribes to it.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import loader, { modules, type LoaderProps } from "./loader";
import { bundleRequest, noBuffersRequest } from "./protocol";
import { FakeModel } from "./testing";

const VERSION = "__OPTUNA_MAGIC_BUNDLE__"; // the source's placeholder (the kernel fills it in)
const page = globalThis as unknown as Record<string, unknown>;

/** What the fake bundle saw: for each model it initialized, what the model had sent by then. */
let initialized: Array<{ model: FakeModel; sentBefore: unknown[] }> = [];
let loaded: unknown[] = [];
/** The loader's props each render of the fake bundle got. */
let rendered: LoaderProps[] = [];
const realLoad = modules.load;
const PLOTLY_CODE = "plotly's code";

beforeEach(() => {
  for (const key of Object.keys(page)) if (key.startsWith("optuna-magic:")) delete page[key];
  initialized = [];
  loaded = [];
  rendered = [];
  modules.load = async (code) => {
    // vitest cannot import a Blob URL; the bundle's code is what the kernel sent.
    loaded.push(code);
    if (code === PLOTLY_CODE) return { default: { plotly: true } };
    return {
      default: {
        initialize({ model }: { model: FakeModel }) {
          initialized.push({ model, sentBefore: [...model.sent] });
        },
        render({ el, plotly }: { el: HTMLElement } & LoaderProps) {
          rendered.push({ plotly });
          el.textContent = "the panel";
        },
      },
    } as never;
  };
});

afterEach(() => {
  modules.load = realLoad;
  vi.useRealTimers();
});

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const bytes = (text: string) => new TextEncoder().encode(text).buffer;

async function open(model: FakeModel): Promise<HTMLElement> {
  const el = document.createElement("div");
  loader.initialize({ model: model as never });
  void loader.render({ model: model as never, el });
  await flush();
  return el;
}

/** A panel opened on a page whose host dropped the panel code's buffer: the kernel was told,
 * and the code came as text. */
async function openWithoutBuffers(model: FakeModel): Promise<void> {
  await open(model);
  model.message({ type: "bundle", version: VERSION }, []);
  model.message({ type: "bundle", version: VERSION, code: "export default {}" });
  await flush();
}

describe("the loader on a host that keeps binary buffers", () => {
  it("imports the bundle from its buffer and never says no_buffers", async () => {
    const model = new FakeModel();
    const el = await open(model);
    expect(model.sent).toEqual([bundleRequest(VERSION)]);
    const code = bytes("export default {}");
    model.message({ type: "bundle", version: VERSION }, [code]);
    await flush();
    expect(loaded).toEqual([code]);
    expect(el.textContent).toBe("the panel");
    expect(model.sent).toEqual([bundleRequest(VERSION)]); // no extra message
    const second = new FakeModel();
    await open(second);
    expect(second.sent).toEqual([]); // the page keeps the bundle
    expect(initialized.map((i) => i.model)).toEqual([model, second]);
  });

  it("ignores a bundle of another version", async () => {
    const model = new FakeModel();
    await open(model);
    model.message({ type: "bundle", version: "older" }, []);
    await flush();
    expect(model.sent).toEqual([bundleRequest(VERSION)]);
    expect(loaded).toEqual([]);
  });
});

describe("the panel's code sent with the panel", () => {
  it("is imported at once, asks nothing, and the model forgets it", async () => {
    const model = new FakeModel({ _code: "export default {}" });
    const el = await open(model);
    expect(model.sent).toEqual([]);
    expect(loaded).toHaveLength(1);
    expect(el.textContent).toBe("the panel");
    expect(model.get("_code")).toBe(""); // a saved widget state keeps none
    const later = new FakeModel();
    await open(later);
    expect(later.sent).toEqual([]); // the page's copy serves a later panel
    expect(loaded).toHaveLength(1);
  });

  it("is not looked for on a page that has the code, nor when empty", async () => {
    const first = new FakeModel({ _code: "" });
    await open(first);
    expect(first.sent).toEqual([bundleRequest(VERSION)]);
    first.message({ type: "bundle", version: VERSION }, [bytes("export default {}")]);
    await flush();
    const second = new FakeModel({ _code: "export default {}" });
    await open(second);
    expect(second.sent).toEqual([]);
    expect(loaded).toHaveLength(1);
    expect(second.get("_code")).toBe("export default {}"); // left alone
  });
});

describe("the loader on a host that drops binary buffers", () => {
  it.each([
    ["an empty list", []],
    ["no list", undefined],
  ])("asks for the code as text when the bundle comes with %s of buffers", async (_name, dropped) => {
    const model = new FakeModel();
    const el = await open(model);
    model.message({ type: "bundle", version: VERSION }, dropped as never);
    expect(model.sent).toEqual([bundleRequest(VERSION), noBuffersRequest(), bundleRequest(VERSION)]);
    model.message({ type: "bundle", version: VERSION, code: "export default {}" }, []);
    await flush();
    expect(loaded).toEqual(["export default {}"]);
    expect(el.textContent).toBe("the panel");
    // The bundle subscribes only after the kernel was told (its sync is answered in base64).
    const [first] = initialized;
    expect(first.sentBefore[first.sentBefore.length - 1]).toEqual(noBuffersRequest());
  });

  it("tells the kernel of every later panel of the page, before the bundle subscribes", async () => {
    const model = new FakeModel();
    await openWithoutBuffers(model);
    const later = new FakeModel();
    await open(later);
    expect(later.sent).toEqual([noBuffersRequest()]); // no bundle request: the page has it
    expect(initialized[1]).toEqual({ model: later, sentBefore: [noBuffersRequest()] });
  });

  it("asks for the text once: a kernel that answers with a buffer again is not asked again", async () => {
    const model = new FakeModel();
    await open(model);
    model.message({ type: "bundle", version: VERSION }, []);
    model.message({ type: "bundle", version: VERSION }, []);
    expect(model.sent).toEqual([bundleRequest(VERSION), noBuffersRequest(), bundleRequest(VERSION)]);
    expect(loaded).toEqual([]);
  });
});

describe("plotly, a part of its own", () => {
  const plotlyRequest = bundleRequest(VERSION, "plotly");

  async function shown(model: FakeModel): Promise<void> {
    await open(model);
    model.message({ type: "bundle", version: VERSION }, [bytes("export default {}")]);
    await flush();
  }

  it("is asked for only when the bundle wants it, and the page keeps one copy", async () => {
    const model = new FakeModel();
    await shown(model);
    expect(model.sent).toEqual([bundleRequest(VERSION)]); // the panel shows without plotly
    const first = rendered[0].plotly();
    expect(model.sent).toEqual([bundleRequest(VERSION), plotlyRequest]);
    model.message({ type: "bundle", version: VERSION }, [bytes("the panel again")]); // not plotly
    model.message({ type: "bundle", version: VERSION, part: "plotly" }, [PLOTLY_CODE as never]);
    expect(await first).toEqual({ plotly: true });
    const later = new FakeModel();
    await open(later);
    expect(await rendered[1].plotly()).toEqual({ plotly: true });
    expect(later.sent).toEqual([]); // neither part asked again
    expect(loaded.filter((c) => c === PLOTLY_CODE)).toHaveLength(1);
    expect(model.handlers.get("msg:custom")?.size ?? 0).toBe(0); // nothing left listening
  });

  it("is asked of a later panel's kernel too when the first has not answered in 3 s", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const blocked = new FakeModel();
    await shown(blocked);
    const waiting = rendered[0].plotly();
    const soon = new FakeModel();
    await open(soon);
    void rendered[1].plotly();
    expect(soon.sent).toEqual([]); // within 3 s the first kernel may still answer
    vi.setSystemTime(Date.now() + 3_500);
    const other = new FakeModel();
    await open(other);
    const asked = rendered[2].plotly();
    expect(other.sent).toEqual([plotlyRequest]);
    other.message({ type: "bundle", version: VERSION, part: "plotly" }, [PLOTLY_CODE as never]);
    expect(await asked).toEqual({ plotly: true });
    expect(await waiting).toEqual({ plotly: true }); // the first answer serves every panel
    expect(blocked.handlers.get("msg:custom")?.size ?? 0).toBe(0);
  });

  it("comes as text on a page whose host drops buffers", async () => {
    const model = new FakeModel();
    await openWithoutBuffers(model);
    const p = rendered[0].plotly();
    model.message({ type: "bundle", version: VERSION, part: "plotly" }, []); // buffer dropped
    expect(model.sent.slice(-2)).toEqual([noBuffersRequest(), plotlyRequest]);
    model.message({ type: "bundle", version: VERSION, part: "plotly", code: PLOTLY_CODE });
    expect(await p).toEqual({ plotly: true });
  });
});
