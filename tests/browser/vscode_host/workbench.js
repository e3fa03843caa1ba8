// The workbench: what VS Code's Jupyter extension does outside the webview.
//
// It holds the one real kernel socket (Jupyter server's websocket kernel channel, legacy wire
// format), executes cells, keeps each cell's outputs (display ids, streams, clear_output), and
// mirrors every kernel frame into the webview, whose own KernelConnection sends its frames back
// here to go out on the same socket. It tells the webview which MIME type of each output to
// render: the widget view only where the kernel holds that widget's model (VS Code asks the
// extension the same question and falls back to the next MIME type otherwise).

const WIDGET = "application/vnd.jupyter.widget-view+json";
const ORDER = [WIDGET, "text/html", "image/svg+xml", "image/png", "text/plain"];
const params = new URLSearchParams(location.hash.slice(1));
const webviewOrigin = params.get("webview");
const uuid = () => crypto.randomUUID().replaceAll("-", "");

const state = { cells: {}, models: [], connected: false, webviewReady: false };
window.__workbench = state;

const frame = document.createElement("iframe");
frame.id = "webview";
// VS Code's webview frame: its own origin, sandboxed with scripts and same-origin.
frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-pointer-lock allow-downloads");
frame.src = `${webviewOrigin}/webview.html?parent=${encodeURIComponent(location.origin)}&csp=${params.get("csp") || ""}`;
document.body.append(frame);
const toWebview = (message) => frame.contentWindow.postMessage(message, webviewOrigin);

const models = new Set();
const displays = new Map(); // display id -> outputs showing it
const byParent = new Map(); // execute msg id -> cell
let socket = null;
const queued = []; // kernel frames that came before the webview was ready
const outgoing = []; // webview frames that came before the socket was open

function decode(data) {
  if (typeof data === "string") return JSON.parse(data);
  // Legacy binary frame (big-endian u32s): the number of parts, one offset per part, then the
  // parts; the first part is the message's JSON, the others its buffers.
  const view = new DataView(data);
  const parts = view.getUint32(0);
  const start = view.getUint32(4);
  const end = parts > 1 ? view.getUint32(8) : data.byteLength;
  return JSON.parse(new TextDecoder().decode(new Uint8Array(data, start, end - start)));
}

function choose(output) {
  if (output.output_type === "stream") return { mime: "text/plain", value: output.text };
  if (output.output_type === "error") {
    return { mime: "text/plain", value: output.traceback.join("\n").replace(/\x1b\[[0-9;]*m/g, "") };
  }
  for (const mime of ORDER) {
    if (!(mime in output.data)) continue;
    if (mime === WIDGET && !models.has(output.data[mime].model_id)) continue; // no state: fall back
    return { mime, value: output.data[mime] };
  }
  return { mime: "text/plain", value: "" };
}

function show(cell, output) {
  const chosen = choose(output);
  const key = JSON.stringify(chosen);
  if (output.shown === key) return;
  output.shown = key;
  output.mime = chosen.mime;
  toWebview({ type: "output", cellId: cell.id, outputId: output.id, ...chosen });
}

function addOutput(cell, output) {
  output.id = `o${uuid()}`;
  cell.outputs.push(output);
  const id = output.transient?.display_id;
  if (id) displays.set(id, [...(displays.get(id) || []), { cell, output }]);
  show(cell, output);
}

function onKernelMessage(msg) {
  const type = msg.header.msg_type;
  if (type === "comm_open" && msg.content.target_name === "jupyter.widget") {
    models.add(msg.content.comm_id);
    state.models = [...models];
  }
  if (type === "comm_close") models.delete(msg.content.comm_id);
  const cell = byParent.get(msg.parent_header?.msg_id);
  if (type === "update_display_data") {
    for (const { cell: c, output } of displays.get(msg.content.transient?.display_id) || []) {
      output.data = msg.content.data;
      output.metadata = msg.content.metadata;
      show(c, output);
    }
    return;
  }
  if (!cell || msg.channel !== "iopub") {
    if (cell && type === "execute_reply") cell.reply = msg.content.status;
    return;
  }
  if (type === "status" && msg.content.execution_state === "idle") cell.done = true;
  else if (type === "stream") {
    const last = cell.outputs[cell.outputs.length - 1];
    if (last && last.output_type === "stream" && last.name === msg.content.name) {
      last.text += msg.content.text;
      show(cell, last);
    } else addOutput(cell, { output_type: "stream", name: msg.content.name, text: msg.content.text });
  } else if (type === "display_data" || type === "execute_result") {
    addOutput(cell, { output_type: type, data: msg.content.data, metadata: msg.content.metadata, transient: msg.content.transient });
  } else if (type === "error") {
    addOutput(cell, { output_type: "error", ename: msg.content.ename, evalue: msg.content.evalue, traceback: msg.content.traceback });
  }
}

function connect() {
  const server = params.get("server");
  const url = `${server.replace(/^http/, "ws")}api/kernels/${params.get("kernel")}/channels?session_id=${uuid()}&token=${params.get("token")}`;
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    state.connected = true;
    for (const data of outgoing.splice(0)) socket.send(data);
  };
  socket.onmessage = (e) => {
    if (state.webviewReady) toWebview({ type: "frame", data: e.data });
    else queued.push(e.data);
    try {
      onKernelMessage(decode(e.data));
    } catch (err) {
      console.error("could not read a kernel frame", err);
    }
  };
}

window.addEventListener("message", (e) => {
  if (e.origin !== webviewOrigin) return;
  const m = e.data;
  if (m.type === "ready") {
    if (params.get("kernel")) {
      toWebview({ type: "kernel", info: { id: params.get("kernel"), name: "python3", clientId: uuid(), username: "vscode" } });
    }
    state.webviewReady = true;
    for (const data of queued.splice(0)) toWebview({ type: "frame", data });
  } else if (m.type === "send" && socket) {
    if (socket.readyState === WebSocket.OPEN) socket.send(m.data);
    else outgoing.push(m.data);
  }
});

// The API the tests drive, like a user running cells.
window.workbench = {
  execute(code) {
    const msgId = uuid();
    const cell = { id: `cell-${msgId.slice(0, 8)}`, msgId, outputs: [], done: false, reply: null };
    state.cells[cell.id] = cell;
    byParent.set(msgId, cell);
    const header = { msg_id: msgId, msg_type: "execute_request", session: uuid(), username: "vscode", date: new Date().toISOString(), version: "5.3" };
    socket.send(JSON.stringify({ header, parent_header: {}, metadata: {}, channel: "shell", buffers: [],
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true } }));
    return cell.id;
  },
  // A saved notebook opened without a kernel: its outputs, and no widget models.
  open(cells) {
    return cells.map((outputs) => {
      const cell = { id: `cell-${uuid().slice(0, 8)}`, outputs: [], done: true, reply: "ok" };
      state.cells[cell.id] = cell;
      for (const o of outputs) addOutput(cell, { ...o });
      return cell.id;
    });
  },
  secondView(cellId, index) {
    const output = state.cells[cellId].outputs[index];
    toWebview({ type: "second-view", cellId, outputId: output.id, ...choose(output) });
  },
  outputs(cellId) {
    return state.cells[cellId].outputs.map(({ id, output_type, data, text, mime, transient }) => ({
      id, output_type, mime, mimes: data ? Object.keys(data).sort() : [], text, data, display_id: transient?.display_id,
    }));
  },
};
if (params.get("kernel")) connect();
