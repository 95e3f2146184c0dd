// Just-in-time access in words: what a plan's JIT mode will do on the target
// (before the launch and while it runs) and what to change in the record when
// a launch is refused. Shared by the launcher's plan view and the
// <pam-launch-session> element. No dependencies, no DOM: the texts are plain
// strings for textContent.
//
// Facts (Keeper Commander PR 1979, `pam launch -j`): an ephemeral launch sends
// credentialType "ephemeral" with jitSettings { create_ephemeral,
// ephemeral_account_type (linux | mac | windows | domain),
// base_distinguished_name?, pam_directory_uid_ref? }: the gateway creates a
// short-lived account on the target and deletes it on disconnect. Elevation
// sends jitElevation { elevate, elevation_method (group | role),
// elevation_string }: the gateway adds the linked credential to that group or
// role for the session and reverts it on disconnect. Both: the ephemeral
// account, elevated. The host is the record's pamHostname (the inputs do not
// carry it). An ephemeral launch waits up to 120 s for the gateway's answer
// (answerMs 120000; 30000 otherwise).
//
// Only the fields above are read: never a password, key, seed or token.

/** How long the gateway may take to answer an ephemeral launch (ms). */
export const EPHEMERAL_ALLOWANCE_MS = 120000;

const MODES = ['ephemeral', 'elevation', 'both'];
const MAX_TEXT = 120; // record text shown in a sentence is clipped to this

/**
 * @typedef {{
 *   mode: 'ephemeral' | 'elevation' | 'both',
 *   host: string | null,
 *   port: number | null,
 *   allowanceMs: number | null,
 *   accountType: string | null,
 *   elevationMethod: string | null,
 *   grants: string[],
 *   elevated: string | null,
 *   lines: string[],
 *   summary: string,
 * }} JitDescription
 */

/**
 * @param {unknown} v
 * @returns {v is Record<string, any>}
 */
const isObject = (v) => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * Record text for a sentence: a string, control characters replaced, clipped; else null.
 * @param {unknown} v
 * @returns {string | null}
 */
function text(v) {
  if (typeof v !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const t = v.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (!t) return null;
  return t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT)}…` : t;
}

/**
 * A JIT flag as the core reads it: true, "true" (any case), 1.
 * @param {unknown} v
 */
function flag(v) {
  return v === true || v === 1 || (typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

/**
 * The first value of the typed field `type` of a record (fields, then custom).
 * @param {unknown} record
 * @param {string} type
 * @returns {Record<string, any> | null}
 */
function typedField(record, type) {
  if (!isObject(record)) return null;
  for (const list of ['fields', 'custom']) {
    const fields = record[list];
    if (!Array.isArray(fields)) continue;
    for (const f of fields) {
      if (!isObject(f) || f.type !== type) continue;
      const value = Array.isArray(f.value) ? f.value[0] : f.value;
      if (isObject(value)) return value;
    }
  }
  return null;
}

/**
 * The target of the launch: the record's pamHostname { hostName, port }.
 * @param {unknown} record
 * @returns {{ host: string | null, port: number | null }}
 */
export function targetOf(record) {
  const h = typedField(record, 'pamHostname');
  const host = text(h?.hostName);
  if (!h || !host) return { host: null, port: null };
  const p = typeof h.port === 'number' ? h.port : typeof h.port === 'string' ? Number(h.port.trim()) : NaN;
  return { host, port: Number.isInteger(p) && p > 0 && p < 65536 ? p : null };
}

/**
 * The plan's JIT mode: plan.jitMode, else what its inputs carry.
 * @param {unknown} plan
 * @returns {JitDescription['mode'] | null}
 */
function modeOf(plan) {
  if (!isObject(plan)) return null;
  if (MODES.includes(plan.jitMode)) return plan.jitMode;
  if (plan.jitMode === null) return null;
  const inputs = isObject(plan.inputs) ? plan.inputs : null;
  if (!inputs) return null;
  const create = isObject(inputs.jitSettings) && flag(inputs.jitSettings.create_ephemeral);
  const elevate = isObject(inputs.jitElevation) && flag(inputs.jitElevation.elevate);
  return create && elevate ? 'both' : create ? 'ephemeral' : elevate ? 'elevation' : null;
}

/**
 * "wheel", "wheel and sudo", "a, b and c".
 * @param {string[]} items
 */
function andList(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * "the group wheel", "the groups wheel and sudo", "the role db_admin".
 * @param {string | null} method
 * @param {string[]} grants
 */
function grantPhrase(method, grants) {
  if (grants.length === 0) return method ? `an elevated ${method}` : 'an elevated group or role';
  const kind = method === 'group' || method === 'role' ? method : null;
  if (!kind) return andList(grants);
  return `the ${kind}${grants.length > 1 ? 's' : ''} ${andList(grants)}`;
}

/**
 * What a plan's JIT mode does, in words; null when the plan has no JIT mode.
 * @param {any} plan a LaunchPlan ({ jitMode, credentialType, inputs })
 * @param {any} [record] the typed record (for the host: its pamHostname)
 * @returns {JitDescription | null}
 */
export function describeJit(plan, record) {
  const mode = modeOf(plan);
  if (!mode) return null;
  const inputs = isObject(plan.inputs) ? plan.inputs : {};
  const eph = isObject(inputs.jitSettings) ? inputs.jitSettings : {};
  const elev = isObject(inputs.jitElevation) ? inputs.jitElevation : {};
  const { host, port } = targetOf(record);
  const creates = mode !== 'elevation';
  const accountType = creates ? text(eph.ephemeral_account_type) : null;
  const elevates = mode !== 'ephemeral';
  const elevationMethod = elevates ? text(elev.elevation_method) : null;
  const grants = elevates && typeof elev.elevation_string === 'string'
    ? elev.elevation_string.split(',').map(text).filter(Boolean)
    : [];
  const credentialType = plan.credentialType ?? inputs.credentialType ?? null;
  const elevated = !elevates ? null
    : mode === 'both' ? 'the temporary account'
      : credentialType === 'userSupplied' ? 'the account you supply'
        : 'the linked user';
  const on = host ? `on ${host}` : 'on the target';
  const lines = [];
  if (creates) {
    lines.push(`Ephemeral: the gateway creates a temporary ${accountType ? `${accountType} ` : ''}account ${on} for this session and deletes it when the session ends; up to ${EPHEMERAL_ALLOWANCE_MS / 1000} s.`);
  }
  if (elevates) {
    lines.push(`Elevation: adds ${elevated} to ${grantPhrase(elevationMethod, grants)} for this session and reverts it when the session ends.`);
  }
  return {
    mode,
    host,
    port,
    allowanceMs: creates ? EPHEMERAL_ALLOWANCE_MS : null,
    accountType,
    elevationMethod,
    grants,
    elevated,
    lines,
    summary: lines.join(' '),
  };
}

/**
 * The launch's JIT step while it runs, e.g.
 * "Creating a temporary account on db.example.com: 12 s of 120 s".
 * @param {JitDescription | null} desc from describeJit
 * @param {number} elapsedMs since the offer was sent
 * @returns {string | null}
 */
export function jitProgressText(desc, elapsedMs) {
  if (!desc) return null;
  const s = Math.max(0, Math.floor((Number(elapsedMs) || 0) / 1000));
  const on = desc.host ? `on ${desc.host}` : 'on the target';
  const grant = desc.mode === 'ephemeral' ? '' : grantPhrase(desc.elevationMethod, desc.grants);
  if (desc.mode === 'elevation') return `Elevating ${desc.elevated || 'the linked user'} to ${grant}: ${s} s`;
  const allowance = desc.allowanceMs ?? EPHEMERAL_ALLOWANCE_MS;
  const what = desc.mode === 'both'
    ? `Creating a temporary account ${on} and adding it to ${grant}`
    : `Creating a temporary account ${on}`;
  return `${what}: ${s} s of ${Math.round(allowance / 1000)} s`;
}

// What to change for each refusal, plan error or warning code. Field names are
// the web vault's (PAM settings of the resource) and the record's keys.
/** @type {Record<string, string>} */
const ADVICE = {
  JIT_NOT_CONFIGURED: "Turn on 'Create ephemeral account' or 'Elevate' in the resource's just-in-time settings (web vault: PAM settings; or pamSettings.options.jit_settings create_ephemeral / elevate), or launch without JIT.",
  JIT_WITH_SUPPLY_HOST: "Turn off 'Allow users to supply the host' in the record's PAM settings (allowSupplyHost), or launch without JIT.",
  JIT_EXCLUSIVE_OPTION: 'JIT provisions the credential itself: remove the credential override, host override and host record from the launch, or launch without JIT.',
  JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL: "Link a pamUser record as the resource's launch credential, turn on 'Allow users to supply credentials' (allowSupplyUser), or turn on 'Create ephemeral account' in the JIT settings.",
  DAG_DECRYPT_FAILED: 'Give the record key the jit_settings edge is encrypted with (base64), or paste the decrypted settings object instead.',
  DAG_INVALID_JSON: 'Paste the jit_settings edge as a JSON object, an edge list, or the encrypted content as base64url.',
  DOMAIN_WITHOUT_DIRECTORY: "Link the resource to a pamDirectory (the domain ephemeral account is created there), or set the ephemeral account type to linux, mac or windows.",
  EPHEMERAL_RESOURCE_WITHOUT_JIT: "Turn on 'Just-in-time access' for this launch, or turn off 'Create ephemeral account' in the resource's JIT settings.",
  IMPLICIT_CREDENTIAL: "Give the linked user record UID (the pamUser the DAG links) to choose the launch credential explicitly.",
  ELEVATION_OF_SUPPLIED_CREDENTIAL: "Link a pamUser record as the resource's launch credential to elevate that account instead of the one the user supplies.",
  TUNNEL_DECRYPT_FAILED: "Check the record's trafficEncryptionSeed: it must be the one the gateway holds for this resource.",
};

/**
 * What to change in the record (or the launch) for an error or warning code;
 * null when there is nothing in the record to change.
 * @param {string | null | undefined} code a stable error or warning code
 * @param {string} [message] the error's message (refines GATEWAY_REFUSED and INVALID_INPUT)
 * @returns {string | null}
 */
export function adviceFor(code, message) {
  const m = typeof message === 'string' ? message : '';
  if (typeof code !== 'string') return null;
  if (Object.prototype.hasOwnProperty.call(ADVICE, code)) return ADVICE[code];
  if (code === 'GATEWAY_REFUSED') {
    if (/domain|directory/i.test(m)) return ADVICE.DOMAIN_WITHOUT_DIRECTORY;
    if (/ephemeral|jit/i.test(m)) return "Check the resource's just-in-time settings (account type, elevation group or role) and that its gateway supports JIT, or launch without JIT.";
    return "Check that the record's gateway is online and linked to this resource, and that you may launch it; then launch again.";
  }
  if (code === 'INVALID_INPUT') {
    if (/recordUid/.test(m)) return 'Give the record UID of the PAM resource.';
    if (/jit_settings\./.test(m)) return 'Set each JIT flag in jit_settings to true or false.';
    if (/allowSupplyHost|allowSupplyUser|override/.test(m)) return "Turn on 'Allow users to supply the host' or 'Allow users to supply credentials' in the record's PAM settings, or launch without the override.";
    if (/protocol|conversationType/i.test(m)) return "Set the protocol in the record's PAM settings (pamSettings.connection.protocol).";
    if (/typed record|not valid JSON/i.test(m)) return 'Paste the typed record as the vault decrypts it: { "type", "title", "fields", "custom" }.';
    return null;
  }
  return null;
}
