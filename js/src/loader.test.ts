// The loader's side of the negotiation with the kernel: a host that keeps binary buffers gets
// the bundle as a buffer and nothing else changes; a host that drops them (Colab's widget
// manager) says `no_buffers`, gets the code as text, and says it again for every later panel of
// the page before the bundle subscribes to it.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import loader, { modules } from "./loader";
import { bundleRequest, noBuffersRequest } from "./protocol";
import { FakeModel } from "./testing";

const VERSION = "__OPTUNA_MAGIC_BUNDLE__"; // the source's placeholder (the kernel fills it in)
const page = globalThis as unknown as Record<string, unknown>;

/** What the fake bundle saw: for each model it initialized, what the model had sent by then. */
let initialized: Array<{ model: FakeModel; sentBefore: unknown[] }> = [];
let loaded: unknown[] = [];
const realLoad = modules.load;

beforeEach(() => {
  for (const key of Object.keys(page)) if (key.startsWith("optuna-magic:")) delete page[key];
  initialized = [];
  loaded = [];
  modules.load = async (code) => {
    // vitest cannot import a Blob URL; the bundle's code is what the kernel sent.
    loaded.push(code);
    return {
      default: {
        initialize({ model }: { model: FakeModel }) {
          initialized.push({ model, sentBefore: [...model.sent] });
        },
        render({ el }: { el: HTMLElement }) {
          el.textContent = "the panel";
        },
      },
    } as never;
  };
});

afterEach(() => {
  modules.load = realLoad;
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
    await open(model);
    model.message({ type: "bundle", version: VERSION }, []);
    model.message({ type: "bundle", version: VERSION, code: "export default {}" });
    await flush();
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
