// The example records: scenarios 1-3 are the launches captured from Keeper
// Commander against a live gateway (PR 1979), 4-6 demo records for RDP, VNC
// and Telnet; copied from tests/fixtures/ into www/examples/ so the page
// needs nothing outside www/.

/**
 * @param {number | string} n
 * @returns {Promise<any>}
 */
export async function fetchScenario(n) {
  const res = await fetch(new URL(`../examples/scenario${n}.json`, import.meta.url));
  if (!res.ok) throw new Error(`scenario ${n}: HTTP ${res.status}`);
  return res.json();
}

/**
 * @param {{ recordUid: HTMLInputElement, linkedUid: HTMLInputElement, record: HTMLTextAreaElement, dag: HTMLTextAreaElement, recordKey: HTMLInputElement }} els
 * @param {{ recordUid: string, linkedUserRecordUid?: string, record: unknown, dag?: unknown }} scenario
 */
export function fillForm(els, scenario) {
  els.recordUid.value = scenario.recordUid;
  els.linkedUid.value = scenario.linkedUserRecordUid || '';
  els.record.value = JSON.stringify(scenario.record, null, 2);
  els.dag.value = scenario.dag ? JSON.stringify(scenario.dag, null, 2) : '';
  els.recordKey.value = '';
}
