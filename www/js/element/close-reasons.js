// What a person reads after a session ends: one sentence per close reason
// (Keeper's CloseConnection reasons, camelCase, as status.closeReason.name
// carries them), then per error code when the status has no reason.

/** @type {Readonly<Record<string, string>>} */
export const REASON_TEXT = Object.freeze({
  normal: 'The session ended normally.',
  error: 'The gateway hit an error and ended the session.',
  timeout: 'The session timed out.',
  serverRefuse: 'The gateway refused the session.',
  client: 'The session was closed from this side.',
  unknown: 'The session ended; the gateway gave no reason.',
  invalidInstruction: 'The remote side sent data this client could not read, so the session ended.',
  guacdRefuse: 'The remote desktop service (guacd) refused the connection.',
  connectionLost: 'The connection to the gateway was lost.',
  connectionFailed: 'The gateway could not connect to the target computer.',
  tunnelClosed: 'The tunnel to the gateway closed.',
  adminClosed: 'An administrator ended this session.',
  errorRecording: 'The session ended because it could not be recorded, and the resource requires recording.',
  guacdError: 'The remote desktop service (guacd) reported an error.',
  aiClosed: 'Keeper\'s AI session monitoring ended this session under the resource\'s policy.',
  addressResolutionFailed: 'The gateway could not resolve the target computer\'s address.',
  decryptionFailed: 'The session data could not be decrypted: the record\'s traffic encryption seed may not match the gateway\'s.',
  configurationError: 'The gateway\'s configuration for this resource is not valid.',
  protocolError: 'A protocol error ended the session.',
  upstreamClosed: 'The target computer closed the connection.',
  other: 'The gateway ended the session.',
});

/** Reasons a reconnect can fix, for statuses without closeReason.transient. */
export const TRANSIENT_REASONS = new Set(['connectionLost', 'connectionFailed', 'tunnelClosed', 'timeout', 'upstreamClosed']);

/** @type {Readonly<Record<string, string>>} */
export const CODE_TEXT = Object.freeze({
  GATEWAY_TIMEOUT: 'The gateway did not answer in time.',
  TUNNEL_TIMEOUT: 'The session stopped answering in time.',
  CONNECTION_LOST: 'The connection to the gateway was lost.',
  GATEWAY_CLOSED: 'The gateway closed the session.',
  GATEWAY_REFUSED: 'The gateway refused the session.',
  TUNNEL_DECRYPT_FAILED: 'The session data could not be decrypted: the record\'s traffic encryption seed may not match the gateway\'s.',
  MALFORMED_FRAME: 'The gateway sent data this client could not read (a protocol error).',
  FRAME_TOO_LARGE: 'The gateway sent a frame larger than this client allows (a protocol error).',
  MALFORMED_INSTRUCTION: 'The remote side sent data this client could not read (a protocol error).',
  INCOMPLETE_INSTRUCTION: 'The remote side sent data this client could not read (a protocol error).',
  INSTRUCTION_TOO_LARGE: 'The remote side sent more than this client allows (a protocol error).',
  RESOURCE_LIMIT: 'The remote side sent more than this client allows, so the session ended.',
  INVALID_INPUT: 'The launch could not start: the record or the options are not valid.',
  UNSUPPORTED: 'This browser cannot run the session.',
});

/** Error codes a reconnect can fix, for statuses without closeReason. */
export const TRANSIENT_CODES = new Set(['CONNECTION_LOST', 'TUNNEL_TIMEOUT', 'GATEWAY_TIMEOUT']);

/**
 * @typedef {{ code: number, name: string, transient: boolean, source: 'gateway' | 'client' }} CloseReason
 * @typedef {{ reason: string | null, code: string | null, message: string, transient: boolean, text: string }} CloseSummary
 */

/**
 * What the close means for a person: the reason's name (or null), the error
 * code (or null), the module's message, whether a reconnect may fix it, and
 * the sentence to show (the reason's, else the code's, else the message).
 * @param {{ message?: string, error?: { code?: string, message?: string }, closeReason?: CloseReason, guacStatus?: { code: number, message: string } }} status
 * @returns {CloseSummary}
 */
export function describeClose(status) {
  const err = status?.error || null;
  const cr = status?.closeReason || null;
  const reason = cr && typeof cr.name === 'string' ? cr.name : null;
  const code = err && typeof err.code === 'string' ? err.code : null;
  const message = String(status?.message || err?.message || '');
  let text = (reason && Object.hasOwn(REASON_TEXT, reason) && REASON_TEXT[reason]) ||
    (code && Object.hasOwn(CODE_TEXT, code) && CODE_TEXT[code]) || message || 'The session ended.';
  const guac = status?.guacStatus;
  if (guac && typeof guac.message === 'string' && guac.message) text = `${text} The remote desktop service said: ${guac.message}`;
  const transient = cr && typeof cr.transient === 'boolean' ? cr.transient
    : reason ? TRANSIENT_REASONS.has(reason)
      : Boolean(code && TRANSIENT_CODES.has(code));
  return { reason, code, message, transient, text };
}
