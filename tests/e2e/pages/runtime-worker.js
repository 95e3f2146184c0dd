// Starts tests/e2e/pages/runtime-worker-job.js in a dedicated module Worker
// and hands its report to the test (window.workerReport).
const worker = new Worker('runtime-worker-job.js', { type: 'module' });
window.workerReport = null;
worker.onmessage = (e) => { window.workerReport = e.data; };
worker.onerror = (e) => { window.workerReport = { error: e.message || 'worker error' }; };
