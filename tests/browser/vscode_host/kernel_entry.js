// The webview side of the kernel connection, the way VS Code's Jupyter extension builds it: a
// real @jupyterlab/services KernelConnection whose WebSocket is a stand-in that passes every
// frame through postMessage to the page that holds the real socket (in VS Code: the extension
// host; here: the workbench page). The webview itself never connects to the server, which its
// Content-Security-Policy would forbid anyway (connect-src https: only).
//
// Bundled by esbuild into dist/kernel.js (an IIFE that sets window.vscHostKernel).

import { KernelConnection } from "@jupyterlab/services/lib/kernel/default";
import { CommsOverSubshells } from "@jupyterlab/services/lib/kernel/comm";
import { ServerConnection } from "@jupyterlab/services";

/**
 * A kernel connection over postMessage.
 * @param {{ id: string, name: string, clientId: string, username: string,
 *           send: (data: string | ArrayBuffer) => void }} options
 * @returns {{ kernel: KernelConnection, receive: (data: string | ArrayBuffer) => void }}
 */
function create(options) {
  let socket = null;
  const pending = [];
  class PostMessageSocket {
    constructor() {
      this.protocol = ""; // the server's legacy wire format, as the workbench's real socket uses
      this.binaryType = "arraybuffer";
      this.readyState = 1;
      socket = this;
      // Opened on the next turn, once KernelConnection has set its handlers.
      setTimeout(() => {
        this.onopen && this.onopen({ target: this });
        for (const data of pending.splice(0)) this.onmessage && this.onmessage({ data });
      }, 0);
    }
    send(data) {
      options.send(data);
    }
    close() {}
  }
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: "http://vscode-webview.invalid/",
    wsUrl: "ws://vscode-webview.invalid/",
    WebSocket: PostMessageSocket,
    appendToken: false,
  });
  const kernel = new KernelConnection({
    model: { id: options.id, name: options.name },
    clientId: options.clientId,
    username: options.username,
    serverSettings,
    handleComms: true,
    // Comm messages go to the main shell, which dispatches them while a %%optuna cell awaits.
    commsOverSubshells: CommsOverSubshells.Disabled,
  });
  return {
    kernel,
    receive(data) {
      if (socket && socket.onmessage) socket.onmessage({ data });
      else pending.push(data);
    },
  };
}

window.vscHostKernel = { create };
