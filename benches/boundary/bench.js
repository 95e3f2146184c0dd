// The page half of benches/boundary/run.mjs: the benchmark build in Chromium.
import init, * as api from '/boundary/pam_launch_wasm.js';
import { runAll } from './cases.mjs';

await init();
window.runBench = (o) => runAll(api, { dag: o.dag, key: Uint8Array.from(o.key) }, o);
window.benchReady = true;
