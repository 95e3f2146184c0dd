// tools/wasm-size.mjs (the size table `npm run build` prints) on modules
// assembled here byte by byte, so every figure is known in advance.
import test from 'node:test';
import assert from 'node:assert/strict';
import { analyse, partOf, table } from '../../tools/wasm-size.mjs';

const leb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s) => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id, body) => [id, ...leb(body.length), ...body];
const vec = (items) => [...leb(items.length), ...items.flat()];

/** A module: one imported function, `bodies` (each `pad` nops long), a data segment, names. */
function build({ names, pads, data = 0 }) {
  const type = section(1, vec([[0x60, 0, 0]])); // () -> ()
  const imp = section(2, vec([[...str('env'), ...str('f'), 0x00, 0]]));
  const func = section(3, vec(pads.map(() => [0])));
  const mem = section(5, vec([[0x00, 1]]));
  const code = section(
    10,
    vec(pads.map((p) => {
      const body = [0, ...new Array(p).fill(0x01), 0x0b]; // no locals, nops, end
      return [...leb(body.length), ...body];
    })),
  );
  const dataSec = section(11, vec([[0x00, 0x41, 0, 0x0b, ...leb(data), ...new Array(data).fill(0x61)]]));
  // name section: function names (subsection 1), indices after the import
  const fnames = vec(names.map((n, i) => [...leb(i + 1), ...str(n)]));
  const nameSec = section(0, [...str('name'), 1, ...leb(fnames.length), ...fnames]);
  return Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imp, ...func, ...mem, ...code, ...dataSec, ...nameSec]);
}

test('reads every body with its size prefix and names it past the imported functions', () => {
  const m = build({ names: ['pam_guac_parser::Parser::next::h0123456789abcdef', 'serde_json::de::from_str'], pads: [10, 200] });
  const a = analyse(m);
  assert.equal(a.importedFuncs, 1);
  assert.deepEqual(a.functions.map((f) => f.name), ['pam_guac_parser::Parser::next::h0123456789abcdef', 'serde_json::de::from_str']);
  // body = 1 (locals) + pad + 1 (end), plus its one-byte size prefix
  assert.deepEqual(a.functions.map((f) => f.size), [13, 204]);
  assert.deepEqual(a.functions.map((f) => f.part), ['core: guac parser', 'serde_json']);
});

test('the parts add up to the file without its name section', () => {
  const m = build({ names: ['a::b', 'core::fmt::write'], pads: [300, 5], data: 150 });
  const nameSize = analyse(m).sections.find((s) => s.name === 'custom:name').size;
  const t = table(m, [['x', m]]);
  assert.equal(t.sumRaw, m.length - nameSize);
  const data = t.rows.find((r) => r[0].startsWith('data section'));
  // id, size (157: two LEB bytes), count, flags, i32.const 0, end, length (two LEB bytes), the bytes
  assert.equal(data[1], 1 + 2 + 1 + 1 + 2 + 1 + 2 + 150);
  assert.ok(t.rows.some((r) => r[0].startsWith('std: fmt (1 fn)')));
  assert.ok(t.rows.some((r) => r[0].startsWith('other (1 fn)')));
});

test('a module without names is refused (the table needs a -g copy)', () => {
  const m = build({ names: [], pads: [1] });
  assert.throws(() => table(m, []), /no name section/);
});

test('names go to their parts', () => {
  const cases = [
    ['pam_launch_wasm::web::session::Inner::flush::hca31694b134804e8', 'web layer (src/web)'],
    ['pam_launch_wasm::core::api::launch_request::h25e4b26746683f38', 'core: error + api'],
    ['pam_tunnel::state::Machine::handle_us::h71027f212d44c329', 'core: tunnel'],
    ['pam_guac::client::Client::handle::h1', 'core: guac (client, display, keyboard, recording)'],
    ['pam_launch_wasm::core::guac::parser::Parser::receive::h1', 'core: guac parser'],
    ['pam_launch_wasm::core::guac::client::Client::receive::{{closure}}::h1', 'core: guac (client, display, keyboard, recording)'],
    ['pam_plan::wire::GatewayInputs::to_json::h0', 'core: plan (jit, dag, record, plan, wire)'],
    ['<f64 as core[c5930c85a12de822]::fmt::Display>::fmt', 'std: fmt'],
    ['core[c5930c85a12de822]::panicking::panic_bounds_check', 'std: panicking'],
    ['<alloc[3ca501edff3f0c7c]::vec::Vec<u8>>::reserve', 'std / core / alloc (other)'],
    ['pam_launch_wasm::core::wire::_::<impl serde_core::de::Deserialize for pam_launch_wasm::core::wire::X>::deserialize::h1', 'serde-derived code'],
    ['<primeorder::affine::AffinePoint<C> as elliptic_curve::point::DecompressPoint<C>>::decompress::h5', 'p256 / elliptic-curve / primeorder'],
    ['aes::soft::fixslice::aes256_encrypt::h1', 'aes / gcm / ghash'],
    ['sha2::sha256::compress256::h1', 'sha2 / hkdf'],
    ['base64::engine::Engine::decode::inner::h1', 'base64'],
    ['launch externref shim multivalue shim', 'wasm-bindgen / js-sys / web-sys glue'],
    ['js_sys::futures::future_to_promise::{{closure}}::h1', 'wasm-bindgen / js-sys / web-sys glue'],
    ['gloo_timers::callback::Timeout::new::h1', 'gloo'],
    ['something_else::f', 'other'],
  ];
  for (const [name, part] of cases) assert.equal(partOf(name), part, name);
});
