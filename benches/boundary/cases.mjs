// The JS boundary benchmark's cases and timing loop, shared by Node and the
// page (benches/boundary/run.mjs): planLaunch (settings in the record, an
// encrypted DAG edge) and normalizeJitSettings, each through JSON text and
// through serde-wasm-bindgen, in alternating runs of one build.

export const MODES = ['json', 'serde-wasm-bindgen'];

const record = {
  type: 'pamMachine', title: 'Lab Rocky', fields: [
    { type: 'pamHostname', value: [{ hostName: 'rocky.lab', port: '22' }] },
    { type: 'login', value: ['root'] },
    { type: 'pamSettings', value: [{ connection: { protocol: 'ssh', userRecords: ['Q_luxs_ofKp-zQes7A173A'] },
      options: { jit_settings: { create_ephemeral: true, ephemeral_account_type: 'linux', elevate: true, elevation_method: 'group', elevation_string: 'wheel' } } }] },
  ], custom: [],
};
export const SETTINGS = { createEphemeral: true, ephemeralAccountType: 'linux', elevate: true, elevationMethod: 'group', elevationString: 'wheel' };

/** `dag`: the encrypted edge as base64url text; `key`: its 32-byte record key. */
export function cases(api, { dag, key }) {
  const request = { recordUid: 'CzYUVX3cW3YOkEu2Jt4bQA', record, jit: true };
  return [
    ['planLaunch (record settings)', () => api.planLaunch(request)],
    ['planLaunch (encrypted DAG edge)', () => api.planLaunch({ ...request, dag, recordKey: key })],
    ['normalizeJitSettings', () => api.normalizeJitSettings(SETTINGS)],
  ];
}

/** µs per call of `fn` over about `ms` milliseconds (after a warm-up). */
export function timeOne(fn, ms) {
  for (let i = 0; i < 500; i++) fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / n;
}

/**
 * Every case in both modes, `runs` times, the modes alternating run by run.
 * Returns { [case]: { [mode]: [µs per call, ...] } }. Checks first that both
 * modes give the same plan.
 */
export function runAll(api, input, { runs, ms }) {
  const list = cases(api, input);
  const same = MODES.map((m) => {
    api.benchJsBoundary(m);
    return JSON.stringify(list.map(([, fn]) => fn()));
  });
  if (same[0] !== same[1]) throw new Error('the two boundaries give different results');
  const out = {};
  for (const [name] of list) out[name] = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < runs; r++) {
    for (const m of r % 2 ? [...MODES].reverse() : MODES) {
      api.benchJsBoundary(m);
      for (const [name, fn] of list) out[name][m].push(timeOne(fn, ms));
    }
  }
  api.benchJsBoundary('json');
  return out;
}
