// The page code imports the wasm module as ./pkg/pam_launch_wasm.js (tools/serve.mjs
// serves pkg/web/ at /pkg/). tsconfig.www.json lists this folder in rootDirs beside
// www/, so that import resolves here: the generated types of the web build
// (scripts/build.sh writes pkg/web/), re-exported as they are.
export * from '../../../../pkg/web/pam_launch_wasm.js';
export { default } from '../../../../pkg/web/pam_launch_wasm.js';
