/** The component worker thread's entry point (see ./run.ts and ../pool.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { StartedBoard, type ToMain, type ToWorker } from "./protocol.js";
import { startWorker } from "./run.js";

const port = parentPort;
if (port === null) throw new Error("hosted/worker/entry.js runs only as a worker thread");
const board = new StartedBoard((workerData as { started: SharedArrayBuffer }).started);
const handle = startWorker((m: ToMain) => port.postMessage(m), board);
// One call at a time: the pool sends the next only after `done`.
let queue: Promise<void> = Promise.resolve();
port.on("message", (m: ToWorker) => {
  queue = queue.then(() => handle(m));
});
