// Masks secrets before anything is shown on the page. Gateway inputs carry
// UIDs and JIT flags, not secrets, but they are built from a decrypted record:
// if a future field ever copied a secret into them, it must not reach the
// screen, a screenshot or the clipboard.

export const REDACTED = '•••• (redacted)';

const SECRET_KEY = /pass(word|phrase)?|secret|private.?key|token|seed|otp|totp|key$/i;
// References to other records and the credential type name no secret.
const NOT_SECRET_KEY = /uid(_ref)?$|^credentialType$/i;

/** @param {string} key */
export function isSecretKey(key) {
  return SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}

/**
 * A deep copy of `value` with the value of every secret-looking key replaced.
 * @param {any} value
 * @returns {any}
 */
export function redact(value) {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(/** @returns {[string, any]} */ ([k, v]) => [k, isSecretKey(k) ? REDACTED : redact(v)]),
    );
  }
  return value;
}
