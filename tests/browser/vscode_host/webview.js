// The notebook webview: VS Code's ipywidgets 8 widget manager rendering a cell's outputs.
//
// What VS Code's Jupyter extension does in its webview, rebuilt from the same parts: RequireJS
// on the page, @vscode/jupyter-ipywidgets8's bundle (activate(), then load(): it defines
// @jupyter-widgets/base for RequireJS and sets window.vscIPyWidgets.WidgetManager), a kernel
// connection over postMessage (dist/kernel.js), and third-party widget code (anywidget) loaded
// by RequireJS from the kernel environment's share/jupyter/nbextensions/<module>/index.js.
// Outputs are laid out as VS Code's webview lays them out: #container > .cell_container#<cell>
// > .output_container > .output#<output>.

const params = new URLSearchParams(location.search);
const parentOrigin = params.get("parent");
const post = (message) => window.parent.postMessage(message, parentOrigin);

const state = { violations: [], ready: false, kernel: false, rendered: 0, log: [] };
window.__vscodeHost = state;
document.addEventListener("securitypolicyviolation", (e) => {
  state.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});

const ipywidgets = await import("./ipywidgets.js");
ipywidgets.activate();
window.vscIPyWidgets8.load();
const JupyterLabWidgetManager = window.vscIPyWidgets.WidgetManager;

let connection = null;
let manager = null;
const views = new Map(); // output id -> widget-view disposer

// VS Code's "local" widget script source: the module's nbextension in the kernel environment.
const scriptLoader = {
  widgetsRegisteredInRequireJs: new Set(),
  async loadWidgetScript(moduleName) {
    const path = `${location.origin}/nbextensions/${moduleName}/index`;
    window.requirejs.config({ paths: { [moduleName]: path } });
    state.log.push(`script source for ${moduleName}: ${path}.js`);
  },
  successHandler(className, moduleName) {
    state.log.push(`loaded ${moduleName}.${className}`);
  },
  errorHandler(className, moduleName, moduleVersion, error) {
    console.error(`could not load widget class ${moduleName}@${moduleVersion}.${className}`, error);
  },
};

function startKernel(info) {
  connection = window.vscHostKernel.create({
    ...info,
    send: (data) => post({ type: "send", data }),
  });
  manager = new JupyterLabWidgetManager(
    connection.kernel,
    document.getElementById("container"),
    scriptLoader,
    (message) => state.log.push(message),
  );
  state.kernel = true;
}

function outputNode(cellId, outputId) {
  let cell = document.getElementById(cellId);
  if (!cell) {
    cell = document.createElement("div");
    cell.id = cellId;
    cell.className = "cell_container";
    document.getElementById("container").append(cell);
  }
  let node = document.getElementById(outputId);
  if (!node) {
    const box = document.createElement("div");
    box.className = "output_container";
    node = document.createElement("div");
    node.className = "output";
    node.id = outputId;
    box.append(node);
    cell.append(box);
  }
  return node;
}

// The kernel's messages (the model's comm_open) and the cell's outputs reach this webview by
// separate ways, so an output can come before its model exists here: it waits for the model,
// up to 10 s. (Seen with a kernel that imports the package from bytecode, so faster: the
// display came first and, without the wait, the widget never rendered.)
async function modelOf(id) {
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      return await manager.get_model(id);
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function renderWidget(node, data) {
  // As VS Code's renderer does: the model first, then a view attached to the output's element.
  const wrapper = document.createElement("div");
  wrapper.className = "cell-output-ipywidget-background";
  node.append(wrapper);
  const model = await modelOf(data.model_id);
  const view = await manager.create_view(model, {});
  const widget = await manager.display_view(undefined, view, { node: wrapper });
  return () => widget.dispose();
}

// Each output by its richest MIME type: the chosen one comes from the workbench, which (like
// VS Code's extension) knows whether the kernel holds the widget's model; else it falls back.
async function renderOutput({ cellId, outputId, mime, value }) {
  const node = outputNode(cellId, outputId);
  views.get(outputId)?.();
  views.delete(outputId);
  node.replaceChildren();
  node.dataset.mime = mime;
  if (mime === "application/vnd.jupyter.widget-view+json") {
    try {
      views.set(outputId, await renderWidget(node, value));
    } catch (err) {
      console.error(`could not render widget ${value.model_id}`, err);
    }
  } else if (mime === "text/html") {
    node.innerHTML = value; // VS Code's built-in renderer inserts trusted HTML as it is
  } else if (mime.startsWith("image/")) {
    const img = document.createElement("img");
    img.src = mime === "image/svg+xml" ? `data:${mime},${encodeURIComponent(value)}` : `data:${mime};base64,${value}`;
    node.append(img);
  } else {
    const pre = document.createElement("pre");
    pre.textContent = value;
    node.append(pre);
  }
  state.rendered += 1;
}

let chain = Promise.resolve();
window.addEventListener("message", (e) => {
  if (e.origin !== parentOrigin) return;
  const m = e.data;
  if (m.type === "kernel") startKernel(m.info);
  else if (m.type === "frame") connection?.receive(m.data);
  else if (m.type === "output") chain = chain.then(() => renderOutput(m));
  else if (m.type === "second-view") {
    // An output rendered again into a new element of the same page, as VS Code does when an
    // output scrolls back into view: a second view of the same model.
    chain = chain.then(() => renderOutput({ ...m, outputId: `${m.outputId}-again` }));
  }
});
state.ready = true;
post({ type: "ready" });
