// A typed example caller of the package, checked (not run) by
// `tsc --noEmit -p tsconfig.json` in npm test. It imports the package by its
// name, as a user would, so it checks package.json "exports" and the types
// wasm-bindgen emits (pkg/node/pam_launch_wasm.d.ts) together. The
// `@ts-expect-error` lines fail the check if any of these types were `any`.
import {
  GuacamoleClient,
  buildElevationPayload,
  buildEphemeralPayload,
  decodeDagJitSettings,
  deriveJitMode,
  errorCodes,
  launch,
  loadJitSettings,
  normalizeJitSettings,
  planLaunch,
  provisionsCredential,
} from "pam-launch-wasm";
import type {
  CloseReasonInfo,
  CloseReasonName,
  ControllerResponse,
  SessionStats,
  UploadStatus,
  FileOffer,
  GatewayAction,
  HeadlessFrame,
  GatewayInputs,
  JitMode,
  JitSettings,
  LaunchOptions,
  LaunchPhase,
  LaunchPlan,
  LaunchRequest,
  LaunchSignaling,
  LaunchStatus,
  LaunchTimings,
  PamLaunchError,
  PamLaunchErrorCode,
  PamSession,
  RouterMessage,
  RTCPeerConnectionClass,
  RTCPeerConnectionLike,
} from "pam-launch-wasm";

// ---- compile-time type equality (fails to compile, not at run time)
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

export type Checks = [
  Assert<Equals<JitMode, "ephemeral" | "elevation" | "both">>,
  Assert<Equals<LaunchPlan["jitMode"], JitMode | null>>,
  Assert<Equals<LaunchPlan["credentialType"], "ephemeral" | "linked" | "userSupplied" | null>>,
  Assert<Equals<LaunchPlan["inputs"], GatewayInputs>>,
  Assert<Equals<LaunchPlan["guacdCredentialsEmpty"], boolean>>,
  Assert<Equals<ReturnType<typeof normalizeJitSettings>, JitSettings | null>>,
  Assert<Equals<ReturnType<typeof deriveJitMode>, JitMode | null>>,
  Assert<Equals<ReturnType<typeof buildEphemeralPayload>, Record<string, unknown>>>,
  Assert<Equals<ReturnType<typeof buildElevationPayload>, Record<string, unknown>>>,
  Assert<Equals<ReturnType<typeof provisionsCredential>, boolean>>,
  Assert<Equals<ReturnType<typeof decodeDagJitSettings>, Record<string, unknown> | null>>,
  Assert<Equals<ReturnType<typeof loadJitSettings>, JitSettings | null>>,
  Assert<Equals<ReturnType<typeof planLaunch>, LaunchPlan>>,
  Assert<Equals<ReturnType<typeof errorCodes>, PamLaunchErrorCode[]>>,
  Assert<Equals<ReturnType<typeof launch>, PamSession>>,
  Assert<Equals<Parameters<typeof launch>[0], LaunchOptions>>,
  Assert<Equals<PamSession["status"], LaunchStatus>>,
  Assert<Equals<PamSession["closed"], Promise<LaunchStatus>>>,
  Assert<Equals<PamSession["timings"], LaunchTimings>>,
  Assert<Equals<LaunchStatus["phase"], LaunchPhase>>,
  Assert<Equals<LaunchStatus["error"], PamLaunchError | undefined>>,
  Assert<Equals<LaunchTimings["firstFrame"], number | null>>,
  Assert<Equals<ReturnType<FileOffer["accept"]>, Promise<Blob>>>,
];

// The JIT error codes are all part of PamLaunchErrorCode.
const jitErrorCodes: PamLaunchErrorCode[] = [
  "INVALID_INPUT",
  "JIT_NOT_CONFIGURED",
  "JIT_WITH_SUPPLY_HOST",
  "JIT_EXCLUSIVE_OPTION",
  "JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL",
  "DAG_DECRYPT_FAILED",
  "DAG_INVALID_JSON",
];

/** Errors thrown by the module are `Error` objects with a stable `code`. */
export function isPamLaunchError(e: unknown): e is PamLaunchError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

/** A user-facing message per error code (exhaustive over the JIT codes). */
export function describe(e: PamLaunchError): string {
  switch (e.code) {
    case "JIT_NOT_CONFIGURED":
      return "This resource has no just-in-time access configured.";
    case "JIT_WITH_SUPPLY_HOST":
    case "JIT_EXCLUSIVE_OPTION":
      return "Just-in-time access cannot be combined with that launch option.";
    case "JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL":
      return "Elevation needs a linked credential.";
    case "DAG_DECRYPT_FAILED":
    case "DAG_INVALID_JSON":
      return "The stored JIT settings could not be read.";
    default:
      return `${e.code}: ${e.message}`;
  }
}

/** Plans a JIT launch of a PAM machine and returns the gateway inputs. */
export function launchInputs(recordUid: string, recordKey: Uint8Array): GatewayInputs | null {
  const dagEdge = { path: "jit_settings", type: "DATA", content: "bm90LXJlYWxseS1lbmNyeXB0ZWQ" };
  const stored: Record<string, unknown> | null = decodeDagJitSettings(dagEdge, recordKey);
  const storedWithoutKey: Record<string, unknown> | null = decodeDagJitSettings({ createEphemeral: true });
  const settings: JitSettings | null =
    normalizeJitSettings(stored ?? storedWithoutKey) ??
    loadJitSettings({ dag: [dagEdge], record: { type: "pamMachine", fields: [] }, recordKey: "a2V5" });
  if (settings === null) return null;

  const mode: JitMode | null = deriveJitMode(settings);
  const ephemeral: Record<string, unknown> = buildEphemeralPayload(settings);
  const elevation: Record<string, unknown> = buildElevationPayload(settings);
  const provisions: boolean = provisionsCredential(true, mode);

  const request: LaunchRequest = {
    recordUid,
    record: { type: "pamMachine", title: "db-1", fields: [{ type: "pamHostname", value: [{ hostName: "db-1", port: "22" }] }] },
    dag: dagEdge,
    recordKey,
    linkedUserRecordUid: provisions ? null : "linked-user-uid",
    jit: "auto",
  };
  try {
    const plan: LaunchPlan = planLaunch(request);
    const warnings: { code: string; message: string }[] = plan.warnings;
    const credential: "ephemeral" | "linked" | "userSupplied" | null = plan.credentialType;
    console.log(mode, Object.keys(ephemeral), Object.keys(elevation), warnings.length, credential);
    if (plan.jitMode === "elevation" && plan.inputs.jitElevation === undefined) return null;
    return plan.guacdCredentialsEmpty ? plan.inputs : null;
  } catch (e) {
    if (isPamLaunchError(e)) {
      const code: PamLaunchErrorCode = e.code;
      console.error(code, describe(e), errorCodes().includes(code), jitErrorCodes.includes(code));
      return null;
    }
    throw e;
  }
}

// ---- a WebRTC launch through a router client of the caller's own

/** The web vault's router client, reduced to what launch() needs. */
interface RouterClient {
  post(payload: GatewayAction, timeoutMs: number, streamResponse: boolean): Promise<string>;
  on(listener: (message: RouterMessage[]) => void): () => void;
}

/** Adapts a router client to the `signaling` contract of launch(). */
export function routerSignaling(router: RouterClient): LaunchSignaling {
  return {
    async send(action, { timeoutMs, streamResponse }) {
      const text = await router.post(action, timeoutMs, streamResponse);
      const response: ControllerResponse = JSON.parse(text) as ControllerResponse;
      return response;
    },
    subscribe(handler) {
      return router.on((messages) => handler(messages));
    },
  };
}

/** Launches a planned session into a canvas and reports its phases. */
export async function launchInto(
  plan: LaunchPlan,
  record: LaunchRequest["record"],
  router: RouterClient,
  canvas: HTMLCanvasElement,
  iceServers: RTCIceServer[],
): Promise<number | null> {
  const session: PamSession = launch({
    plan,
    record,
    signaling: routerSignaling(router),
    iceServers,
    canvas,
    trickleIce: plan.inputs.trickleICE,
    timeouts: { answerMs: plan.credentialType === "ephemeral" ? 120000 : 30000, keepaliveMs: null, pingMs: 2000 },
    onstatus(status: LaunchStatus) {
      const phase: LaunchPhase = status.phase;
      if (status.error !== undefined) {
        const code: PamLaunchErrorCode = status.error.code;
        console.error(phase, code, status.message);
      }
    },
  });
  session.onframe = (n: number) => console.log(n);
  session.attachInput(canvas);
  session.focus();
  session.client.onclipboard = (text: string) => console.log(text.length);
  // Downloads only with consent: without onfile every one is refused.
  session.client.onfile = (offer: FileOffer) => {
    if (!offer.name.endsWith(".txt")) {
      offer.reject();
      return;
    }
    offer.accept().then((blob: Blob) => console.log(offer.name, offer.mimetype, blob.size));
  };
  session.sendKeyEvent(0xff0d, true);
  session.sendKeyEvent(0xff0d, false);
  session.resize(1280, 720);
  const pasted: boolean = session.setClipboard("text");
  const id: string = session.conversationId;
  await session.restartIce().catch((e: unknown) => (isPamLaunchError(e) ? e.code : null));
  const final: LaunchStatus = await session.closed;
  console.log(pasted, id, final.phase);
  // Why it ended, and whether a reconnect can help.
  const reason: CloseReasonInfo | undefined = final.closeReason;
  if (reason !== undefined) {
    const name: CloseReasonName = reason.name;
    const source: "gateway" | "client" = reason.source;
    console.log(name, source, reason.code, reason.transient ? "reconnect" : "stay closed", final.guacStatus?.code);
    // @ts-expect-error: not a reason name
    const wrong: CloseReasonName = "adminclosed";
    console.log(wrong);
  }
  // Live figures and the in-session switches.
  const stats: SessionStats = session.stats;
  const rtt: number | null = stats.rttMs;
  console.log(rtt, stats.rttAt, stats.pingOverdueMs, stats.syncLagMs, stats.bytesIn + stats.bytesOut, stats.bufferedAmount, stats.framesRendered);
  session.client.autoScale = false;
  session.client.keyboardEnabled = false;
  const policy: boolean = session.client.disableCopy || session.client.disablePaste;
  session.client.onupload = (stream: number, sent: number, total: number, status: UploadStatus, message?: string) => {
    if (status === "progress" && sent > total / 2) session.cancelUpload(stream);
    console.log(policy, message);
  };
  const cancelled: boolean = session.client.cancelUpload(1);
  console.log(cancelled);
  session.disconnect();
  return session.timings.firstFrame;
}

/**
 * A Node runner's launch, headless, with an RTCPeerConnection class that is
 * not the DOM's (as node-datachannel's polyfill is not): typed by what
 * launch() uses of it.
 */
export async function launchHeadless(
  plan: LaunchPlan,
  record: LaunchRequest["record"],
  signaling: LaunchSignaling,
  NodeRTCPeerConnection: RTCPeerConnectionClass,
): Promise<number> {
  const pc: RTCPeerConnectionLike = new NodeRTCPeerConnection({ iceServers: [] });
  pc.close();
  const opcodes = new Map<string, number>();
  let frames = 0;
  const session = launch({
    plan,
    record,
    signaling,
    RTCPeerConnection: NodeRTCPeerConnection,
    renderer: "headless",
    width: 1280,
    height: 720,
    oninstruction: (opcode: string, args: string[]) => opcodes.set(opcode, (opcodes.get(opcode) ?? 0) + args.length),
    onframe: (f: HeadlessFrame) => {
      frames = f.frame;
      console.log(f.ops, f.width, f.height, f.at, f.timestamp, f.painted);
    },
  });
  session.sendKeyEvent(0x61, true);
  session.sendKeyEvent(0x61, false);
  const renderer: "canvas" | "headless" = session.client.renderer;
  const canvas: HTMLCanvasElement | OffscreenCanvas | null = session.client.canvas;
  console.log(renderer, canvas);
  await session.closed;
  return frames;
}

/** The recording path: a headless client summarises what arrived. */
export function summarize(bytes: Uint8Array): number {
  let ops = 0;
  const client = new GuacamoleClient({ send: () => {}, renderer: "headless", oninstruction: () => {} });
  client.onframe = (f: HeadlessFrame) => {
    ops += f.ops;
  };
  client.receive(bytes);
  client.flushPending();
  // Read-only: the canvases the renderer holds (0 headless).
  const canvases: number = client.canvasCount;
  // @ts-expect-error canvasCount is a getter only
  client.canvasCount = 1;
  return ops + canvases;
}

/** A page's own RTCPeerConnection wrapper, and an OffscreenCanvas. */
export function launchWrapped(plan: LaunchPlan, record: LaunchRequest["record"], signaling: LaunchSignaling, canvas: OffscreenCanvas): PamSession {
  class Counting extends RTCPeerConnection {
    static count = 0;
    constructor(config?: RTCConfiguration) {
      super(config);
      Counting.count += 1;
    }
  }
  return launch({ plan, record, signaling, RTCPeerConnection: Counting, canvas, renderer: "canvas" });
}

// ---- mistakes the types must catch (each line must be a type error)
export function mistakes(plan: LaunchPlan, settings: JitSettings): void {
  // @ts-expect-error recordUid is a string
  planLaunch({ recordUid: 42, record: {} });
  // @ts-expect-error a request needs its record
  planLaunch({ recordUid: "uid" });
  // @ts-expect-error jitMode is JitMode | null, not a number
  const n: number = plan.jitMode;
  // @ts-expect-error not a JIT mode
  const m: JitMode = "elevate";
  // @ts-expect-error provisionsCredential returns a boolean
  const s: string = provisionsCredential(true, deriveJitMode(settings));
  // @ts-expect-error a record key is bytes or base64url text
  decodeDagJitSettings({}, 42);
  // @ts-expect-error warnings are objects, not strings
  const w: string[] = plan.warnings;
  // @ts-expect-error not an error code
  const c: PamLaunchErrorCode = "NOT_A_CODE";
  // @ts-expect-error launch needs signaling
  launch({ plan });
  // @ts-expect-error onfile gets a FileOffer, not (name, blob)
  launch({ plan, signaling: { send: () => Promise.resolve("{}"), subscribe: () => () => {} } }).client.onfile = (name: string, blob: Blob) => {};
  // @ts-expect-error not a renderer
  launch({ plan, signaling: { send: () => Promise.resolve("{}"), subscribe: () => () => {} }, renderer: "webgl" });
  // @ts-expect-error RTCPeerConnection is a class, not an instance or a number
  launch({ plan, signaling: { send: () => Promise.resolve("{}"), subscribe: () => () => {} }, RTCPeerConnection: 5 });
  // @ts-expect-error oninstruction gets (opcode, args)
  new GuacamoleClient({ send: () => {}, renderer: "headless", oninstruction: (op: number) => op });
  // @ts-expect-error not a launch phase
  const p: LaunchPhase = "answered";
  // @ts-expect-error signaling.send takes the action and { timeoutMs, streamResponse }
  const bad: LaunchSignaling = { send: (a: string) => Promise.resolve(a), subscribe: () => () => {} };
  console.log(n, m, s, w, c, p, bad);
}
