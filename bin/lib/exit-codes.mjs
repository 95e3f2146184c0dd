// The pam-launch command's exit codes: one per class of error, so a script
// can tell "fix the input" from "the gateway said no" from "try again later".
// Every stable error code of the package (errorCodes()) belongs to exactly
// one class; tests/cli.test.mjs checks that none is left over.

export const EXIT = Object.freeze({
  OK: 0,
  FAILED: 1, // something this command did not expect (a bug: please report it)
  USAGE: 2, // wrong arguments: see --help
  INPUT: 3, // the record, request or a file: fix the input
  DAG: 4, // the DAG jit_settings: wrong record key or damaged edge
  REFUSED: 5, // the gateway refused the launch or closed it: its reason is printed
  TIMEOUT: 6, // nothing came back in time: the gateway or the network is slow or down
  CONNECTION: 7, // signaling, WebRTC or the tunnel failed: check the URL and the network
  PROTOCOL: 8, // the remote side sent something malformed or too large
  UNSUPPORTED: 9, // this Node lacks what the command needs (e.g. node-datachannel)
});

// error code -> exit code
export const CODE_CLASS = Object.freeze({
  INVALID_INPUT: EXIT.INPUT,
  JIT_NOT_CONFIGURED: EXIT.INPUT,
  JIT_WITH_SUPPLY_HOST: EXIT.INPUT,
  JIT_EXCLUSIVE_OPTION: EXIT.INPUT,
  JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL: EXIT.INPUT,
  DAG_DECRYPT_FAILED: EXIT.DAG,
  DAG_INVALID_JSON: EXIT.DAG,
  GATEWAY_REFUSED: EXIT.REFUSED,
  GATEWAY_CLOSED: EXIT.REFUSED,
  GATEWAY_TIMEOUT: EXIT.TIMEOUT,
  TUNNEL_TIMEOUT: EXIT.TIMEOUT,
  TUNNEL_DECRYPT_FAILED: EXIT.CONNECTION,
  INVALID_SIGNALING_MESSAGE: EXIT.CONNECTION,
  CONNECTION_LOST: EXIT.CONNECTION,
  INCOMPLETE_INSTRUCTION: EXIT.PROTOCOL,
  MALFORMED_INSTRUCTION: EXIT.PROTOCOL,
  INSTRUCTION_TOO_LARGE: EXIT.PROTOCOL,
  MALFORMED_FRAME: EXIT.PROTOCOL,
  FRAME_TOO_LARGE: EXIT.PROTOCOL,
  RESOURCE_LIMIT: EXIT.PROTOCOL,
  UNSUPPORTED: EXIT.UNSUPPORTED,
});

/** The exit code for an error: its class by `code`, else FAILED. */
export function exitCodeFor(err) {
  const code = err && typeof err.code === 'string' ? err.code : null;
  return code && Object.hasOwn(CODE_CLASS, code) ? CODE_CLASS[code] : EXIT.FAILED;
}
