// Writes tunnel-vectors.json: the tunnel crypto of issue 6 computed with
// Node's own crypto, so that the Rust core is checked against an independent
// implementation:
// - the tunnel key: HKDF-SHA256(ikm = seed, salt = 16-byte nonce,
//   info "KEEPER_TUNNEL_ENCRYPT_AES_GCM_128", 32 bytes);
// - tunnel_encrypt: standard base64 of nonce(12) || AES-256-GCM ciphertext || tag;
// - the `start` message's encrypted offer data and the signaling messages;
// - router payloads the gateway would send (answers, candidates, offers);
// - ConnectAs: ECIES with ECDH P-256 (createECDH) -> HKDF-SHA256 (no salt,
//   info "KEEPER_CONNECT_AS_ECIES_SECP256R1_HKDF_SHA256") -> AES-256-GCM,
//   block = len u32 BE || one-time public key (65) || nonce (12) || ct+tag.
// Run: node tests/cases/make-tunnel-vectors.mjs   (the output is committed)
// Keys, seeds and nonces are derived from labels: never real secrets.
import { createCipheriv, createECDH, createHash, hkdfSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const det = (label, n) => {
  let out = Buffer.alloc(0);
  for (let i = 0; out.length < n; i++) out = Buffer.concat([out, createHash('sha256').update(`${label}#${i}`).digest()]);
  return out.subarray(0, n);
};
const hex = (b) => Buffer.from(b).toString('hex');
const b64 = (b) => Buffer.from(b).toString('base64');

const tunnelKey = (seed, salt) =>
  Buffer.from(hkdfSync('sha256', seed, salt, Buffer.from('KEEPER_TUNNEL_ENCRYPT_AES_GCM_128'), 32));

function seal(key, nonce, plaintext) {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  const ct = Buffer.concat([c.update(Buffer.from(plaintext)), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

// 1. HKDF.
const hkdf = [];
for (const [name, seed] of [
  ['32-byte seed', det('seed a', 32)],
  ['16-byte seed', det('seed b', 16)],
  ['1-byte seed', det('seed c', 1)],
  ['100-byte seed', det('seed d', 100)],
]) {
  const salt = det(`salt ${name}`, 16);
  hkdf.push({ name, seed: hex(seed), salt: hex(salt), key: hex(tunnelKey(seed, salt)) });
}

// 2. tunnel_encrypt.
const encrypt = [];
for (const [name, plaintext] of [
  ['empty', ''],
  ['short JSON', '{"candidates":["candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"]}'],
  ['UTF-8', 'zürich ✓ 🚀'],
  ['1000 bytes', 'x'.repeat(1000)],
]) {
  const key = det(`key ${name}`, 32);
  const nonce = det(`nonce ${name}`, 12);
  encrypt.push({ name, key: hex(key), nonce: hex(nonce), plaintext, text: b64(seal(key, nonce, plaintext)) });
}

// 3. The start message and the signaling messages of one launch.
const seed = det('launch seed', 32);
const salt = det('launch salt', 16);
const convBytes = det('conversation id', 16);
const key = tunnelKey(seed, salt);
const sdp = [
  'v=0', 'o=- 4611731400430051337 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:test', 'a=ice-pwd:testtesttesttesttesttest', 'a=ice-options:trickle',
  'a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', '',
].join('\r\n');
// What the gateway receives: the SDP with the web vault's max-message-size after sctp-port.
const sentSdp = sdp.replace('a=sctp-port:5000\r\n', 'a=sctp-port:5000\r\na=max-message-size:1073741823\r\n');
const offerData = {
  offer: b64(Buffer.from(sentSdp)),
  audio: ['audio/L8', 'audio/L16'],
  video: [],
  size: [1024, 768, 96],
  image: ['image/jpeg', 'image/png', 'image/webp'],
  host: { hostName: '10.0.0.5', port: 22 },
  guacd_params: { 'enable-pipe': 'true', 'disable-paste': 'true' },
  terminalSettings: { disableCopy: false, disablePaste: true },
  clipboard: { disableCopy: false, disablePaste: true },
};
const startNonce = det('start nonce', 12);
const convId = convBytes.toString('base64url');
const launch = {
  seed: b64(seed),
  salt: hex(salt),
  conversation_id_bytes: hex(convBytes),
  conversation_id: convId,
  channel_label: b64(convBytes),
  key: hex(key),
  sdp,
  offer_data: offerData,
  start_nonce: hex(startNonce),
  start_data: b64(seal(key, startNonce, JSON.stringify(offerData))),
  base64_nonce: b64(salt),
  signals: [],
  router: [],
};
const signal = (kind, plain, label) => {
  const nonce = det(label, 12);
  launch.signals.push({ kind, plain, nonce: hex(nonce), data: b64(seal(key, nonce, JSON.stringify(plain))) });
};
signal('icecandidate', { candidates: ['candidate:1 1 udp 2130706431 10.213.0.2 5000 typ host', ''] }, 'ice nonce');
signal('ice_restart_offer', { type: 'offer', sdp: sentSdp, ice_restart: true }, 'restart offer nonce');
signal('ice_restart_answer', { type: 'answer', sdp: sentSdp, ice_restart: true }, 'restart answer nonce');

// 4. Router payloads, encrypted as the gateway does, with the events they mean.
const answerSdp = 'v=0\r\no=- 1 2 IN IP4 10.213.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:65535\r\na=keeper-webrtc:2.2.9\r\n';
const enc = (plain, label) => seal(key, det(label, 12), typeof plain === 'string' ? plain : JSON.stringify(plain));
const route = (name, data, events) => launch.router.push({ name, data, events });
const answerBlob = enc({ answer: b64(Buffer.from(answerSdp)) }, 'r1');
route('answer, standard base64', b64(answerBlob), [{ answer: answerSdp }]);
route('answer, base64url without padding', answerBlob.toString('base64url'), [{ answer: answerSdp }]);
route('raw sdp field', b64(enc({ sdp: answerSdp }, 'r2')), [{ answer: answerSdp }]);
route('raw SDP text', b64(enc(answerSdp, 'r3')), [{ answer: answerSdp }]);
route('gateway ICE-restart offer', b64(enc({ type: 'offer', sdp: answerSdp }, 'r4')), [{ restart_offer: answerSdp }]);
route('candidates', b64(enc({ candidates: ['candidate:607854466 1 udp 2130706431 10.213.0.1 59794 typ host', ''] }, 'r5')),
  [{ candidates: ['candidate:607854466 1 udp 2130706431 10.213.0.1 59794 typ host', ''] }]);
route('JSON acknowledgement string', b64(enc('"connected"', 'r6')), []);
route('Python-repr dict', b64(enc(`{'sdp': 'v=0 x'}`, 'r7')), [{ answer: 'v=0 x' }]);

// 5. ConnectAs (ECIES P-256).
const gateway = createECDH('prime256v1');
gateway.setPrivateKey(det('gateway private key', 32));
const ecies = [];
for (const [name, user] of [
  ['username and password (padded to 92 bytes)', { username: 'alice', password: 'pw' }],
  ['private key (longer than 92 bytes)', { username: 'root', private_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', passphrase: 'pp' }],
]) {
  const secret = det(`one-time ${name}`, 32);
  const nonce = det(`ecies nonce ${name}`, 12);
  const eph = createECDH('prime256v1');
  eph.setPrivateKey(secret);
  const shared = eph.computeSecret(gateway.getPublicKey());
  const k = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), Buffer.from('KEEPER_CONNECT_AS_ECIES_SECP256R1_HKDF_SHA256'), 32));
  let plain = Buffer.from(JSON.stringify({ user }));
  if (plain.length < 92) plain = Buffer.concat([plain, Buffer.alloc(92 - plain.length, 0x20)]);
  const sealed = seal(k, nonce, plain).subarray(12); // ct || tag
  const len = Buffer.alloc(4);
  len.writeUInt32BE(sealed.length);
  ecies.push({
    name, user, secret: hex(secret), nonce: hex(nonce), public_key: hex(eph.getPublicKey()),
    plaintext: plain.toString('utf8'),
    block: hex(Buffer.concat([len, eph.getPublicKey(), nonce, sealed])),
  });
}

const out = {
  note: 'made by tests/cases/make-tunnel-vectors.mjs with Node crypto; test values only',
  hkdf, encrypt, launch,
  ecies: { gateway_private_key: hex(det('gateway private key', 32)), gateway_public_key: hex(gateway.getPublicKey()),
    gateway_public_key_compressed: hex(gateway.getPublicKey(null, 'compressed')), cases: ecies },
};
writeFileSync(new URL('./tunnel-vectors.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log(`tunnel-vectors.json: ${hkdf.length} hkdf, ${encrypt.length} encrypt, ${launch.signals.length + 1} signaling, ${launch.router.length} router, ${ecies.length} ECIES`);
