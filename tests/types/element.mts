// A typed example caller of <pam-launch-session>, checked (not run) by
// `tsc --noEmit -p tsconfig.json`: the package's ./element export, its
// events in HTMLElementEventMap, the element in HTMLElementTagNameMap. The
// `@ts-expect-error` lines fail the check if these types were `any`.
import * as api from "pam-launch-wasm/web";
import { PamLaunchSession, RECONNECT_DELAYS_MS } from "pam-launch-wasm/element";
import type { PamCloseDetail, PamStatsDetail } from "pam-launch-wasm/element";

export async function start(signaling: api.LaunchSignaling, record: api.TypedRecord, plan: api.LaunchPlan): Promise<void> {
  await api.default();
  const el = document.createElement("pam-launch-session");
  const same: PamLaunchSession = el;
  same.api = api;
  el.plan = plan;
  el.record = record;
  el.signaling = signaling;
  el.timeouts = { answerMs: 30000 };
  el.setAttribute("scaling", "remote-resize");
  el.scaling = "real";
  // @ts-expect-error: not a scaling mode
  el.scaling = "zoom";
  document.body.append(el);

  el.addEventListener("pam-status", (e) => {
    const ms: number = e.detail.ms;
    const phase: "closed" | string = e.detail.phase;
    void ms;
    void phase;
  });
  el.addEventListener("pam-close", (e) => {
    const d: PamCloseDetail = e.detail;
    const reason: string | null = d.reason;
    const inMs: number | undefined = d.reconnectInMs;
    // @ts-expect-error: transient is a boolean
    const wrong: string = d.transient;
    void reason; void inMs; void wrong;
  });
  // The events bubble and are composed: typed on any element's listener.
  document.body.addEventListener("pam-stats", (e) => {
    const s: PamStatsDetail = e.detail;
    const rtt: number | null = s.rttMs;
    void rtt;
  });
  el.addEventListener("pam-upload", (e) => {
    const status: "progress" | "done" | "cancelled" | "error" = e.detail.status;
    void status;
  });

  const session = el.launch();
  if (session) {
    const closed: api.LaunchStatus = await session.closed;
    void closed;
  }
  el.sendKeys("ctrl-alt-del");
  el.sendKeys([0xffe3, 0xffe9, 0xffff]);
  // @ts-expect-error: not a combination name
  el.sendKeys("ctrl-alt-backspace");
  el.setClipboard("text");
  el.setKeyboardCapture(false);
  const full: boolean = await el.toggleFullscreen();
  void full;
  const view = await el.getPlayer();
  await view.open(new Uint8Array(0), "x.guac");
  const frames: number | undefined = view.player?.frameCount;
  void frames;
  // @ts-expect-error: the player is read-only
  view.player = null;
  const delays: number[] = RECONNECT_DELAYS_MS;
  void delays;
  const found = document.querySelector("pam-launch-session");
  if (found) found.disconnect();
}
