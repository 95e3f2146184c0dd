// Turns the form into a planLaunch request. Only shapes are checked here;
// planLaunch validates the content and names the problem itself.

export class FormError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** @param {string} text */
const optional = (text) => text.trim() || undefined;

/** @param {string} text */
function parseRecord(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormError('INVALID_INPUT', `Record JSON is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// JSON goes to planLaunch as a value, so an edge list is read as one; text
// that does not parse is passed on as it is: base64url content, or broken
// JSON that planLaunch reports as DAG_INVALID_JSON.
/** @param {string} text */
function parseDag(text) {
  const t = text.trim();
  if (!t) return undefined;
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return t;
    }
  }
  return t;
}

/**
 * The request (without `jit`) for the current form, or null when no record
 * has been entered yet. Throws FormError on a record that is not JSON.
 */
/**
 * @param {{ record: HTMLTextAreaElement, dag: HTMLTextAreaElement, recordKey: HTMLInputElement, recordUid: HTMLInputElement, linkedUid: HTMLInputElement }} els
 */
export function readRequest(els) {
  const recordText = els.record.value.trim();
  if (!recordText) return null;
  return {
    recordUid: els.recordUid.value.trim(),
    record: parseRecord(recordText),
    dag: parseDag(els.dag.value),
    recordKey: optional(els.recordKey.value),
    linkedUserRecordUid: optional(els.linkedUid.value),
  };
}
