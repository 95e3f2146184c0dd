// The typed page side of a session in a Worker (`pam-launch-wasm/worker`),
// checked (not run) by tsc in npm test with the package's other types.
import { launchInWorker } from "pam-launch-wasm/worker";
import type { WorkerLaunchStatus, WorkerSession } from "pam-launch-wasm/worker";
import type { LaunchSignaling } from "pam-launch-wasm";

export function startInWorker(canvas: HTMLCanvasElement, signaling: LaunchSignaling): WorkerSession {
  const worker = new Worker(new URL("pam-launch-wasm/worker/session-worker.js", import.meta.url), { type: "module" });
  const session = launchInWorker({
    worker,
    canvas,
    signaling,
    plan: { recordUid: "uid", record: {} },
    trickleIce: true,
    onstatus: (s: WorkerLaunchStatus) => console.log(s.phase, s.error?.code),
  });
  session.send({ type: "text", text: "hi" });
  // @ts-expect-error the canvas is required
  launchInWorker({ worker, signaling, plan: { recordUid: "uid", record: {} } });
  session.closed.then(() => worker.terminate());
  return session;
}
