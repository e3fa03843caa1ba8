// Steering the study from the panel: "Run N more" and enqueueing a trial's edited parameters.
// Each request gets an id and the kernel's answer (a `steer` message) in words; with no answer
// within a few seconds the panel says so (no kernel, or one busy running a cell). "Run N more"
// takes two steps (see RunMoreRequest): a request the panel gave up on is never confirmed, so a
// kernel that was busy does not start a run the page no longer expects.

import { enqueueRequest, runMoreRequest, type SteerMessage } from "../protocol";

export interface SteerAnswer {
  state: SteerMessage["state"] | "no kernel";
  message: string;
}

export interface Steering {
  runMore(n: number): Promise<SteerAnswer>;
  enqueue(params: Record<string, string | number>): Promise<SteerAnswer>;
  /** A `steer` message from the kernel. */
  receive(msg: SteerMessage): void;
}

export const NO_KERNEL =
  "no kernel answered: the kernel is busy running a cell, or there is none (a notebook opened without it)";

let counter = 0;

export function createSteering(send: (content: unknown) => void, timeoutMs = 5000): Steering {
  const waiting = new Map<string, (msg: SteerMessage) => void>();

  function ask(id: string, content: unknown, late: string): Promise<SteerAnswer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ state: "no kernel", message: `${NO_KERNEL}${late}` });
      }, timeoutMs);
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve({ state: msg.state, message: msg.message });
      });
      send(content);
    });
  }

  const newId = () => `${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  return {
    async runMore(n) {
      const id = newId();
      const ready = await ask(id, runMoreRequest(id, n, false), "; nothing was started");
      if (ready.state !== "ready") return ready;
      return ask(id, runMoreRequest(id, n, true), "");
    },
    enqueue(params) {
      const id = newId();
      return ask(id, enqueueRequest(id, params), "; a busy kernel enqueues them when it is free");
    },
    receive(msg) {
      waiting.get(msg.id)?.(msg);
    },
  };
}
