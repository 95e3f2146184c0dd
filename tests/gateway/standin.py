#!/usr/bin/env python3
"""Local Keeper Gateway stand-in for end-to-end tests (issue 6).

A loopback signaling endpoint that speaks the JSON shapes of Keeper's router,
checks a launch against the gateway's wire contract, decrypts the offer with
the tunnel key, and answers it with Keeper's own WebRTC library
(keeper-pam-webrtc-rs 2.2.9, the gateway side) bridged to a guacd: the replay
server of tests/replay, or a real guacd when GUACD=host:port is set.

Runs in the virtual environment that scripts/setup.sh makes:

    .venv/bin/python tests/gateway/standin.py --config CONFIG.json
        [--host 127.0.0.1] [--port 0] [--guacd HOST:PORT] [--static DIR]
        [--max-seconds 300] [--refuse TEXT] [--silent] [--drop-after-ms N]
        [--lib-log-level WARNING] [--ignore-stdin]

Prints one line on stdout when it listens: {"ready": true, "port": N, ...}.
Exits on SIGTERM/SIGINT, when stdin closes (unless --ignore-stdin), or after
--max-seconds. Never prints a password, seed, key or SDP ice-pwd: every log
line goes through a redacting filter.

HTTP endpoints (JSON bodies). Only the page that is served from this origin may
use them: a request whose Host is not a loopback name (127.0.0.1, localhost,
[::1], or the --host address) gets 403 (no DNS rebinding), and so does one
whose Origin is not http://<its Host> or whose Sec-Fetch-Site says cross-site
or same-site (no other web page can drive it). No CORS headers are sent.

  POST /signal/send   body {"action": <GatewayAction>, "timeoutMs": N, "streamResponse": bool}
      -> 200, the gateway's ControllerResponse {"is_ok": bool, "data"?: ..., "error"?: ...}.
         kind "start", non-trickle: data = tunnel_encrypt({"answer": base64 SDP}).
         kind "start", trickle (streamResponse true): data = an acknowledgement
           text; the answer and the gateway's candidates come on /signal/events.
         kind "icecandidate": data = an acknowledgement text.
         kind "ice_restart_offer": the restart answer, tunnel_encrypt({"sdp": raw}),
           in the body or (streamResponse) on /signal/events.
      -> 504 {"responseCode": 4, "error": "rrc_timeout ..."} when the gateway is
         "silent" (after timeoutMs): the router's timeout, not a ControllerResponse.
      -> 400 {"error": ...} when the body is not that shape.
  GET /signal/events[?conversationId=ID]   text/event-stream, the router websocket's
      replacement. Each event's data is the JSON of a router websocket message
      {"conversationId", "type", "payload": "<ControllerResponse JSON text>"} or an
      array of them. With conversationId (either base64 alphabet) the stream
      starts with that conversation's earlier messages, so subscribing just
      after the start POST loses nothing; without it, all new messages.
  GET /signal/_log     everything seen (decrypted inputs with secrets redacted,
      the offer's guacd_params keys, signals, timings), for tests.
  POST /signal/_behaviour   body {switch: value}: changes the global switches.
  GET /signal/_health  {"ok": true}
  GET /<path>          files under --static DIR, if given.

stdin (one JSON object per line): {"cmd": "log"} prints {"log": {...}};
{"cmd": "behaviour", "set": {...}} prints {"ok": true, "behaviour": {...}};
{"cmd": "quit"} exits.

Config (JSON file, --config):
  {
    "guacd": "127.0.0.1:4822",
    "behaviour": {"refuse": false | "error text", "silent": false,
                  "drop_after_ms": null | N, "drop_reason": 9,
                  "ephemeral_delay_ms": 0, "answer_form": "answer" | "sdp" | "raw",
                  "forms": "mixed" | "plain"},
    "ephemeralAccount": {"username": ..., "password": ...},
    "records": {
      "<recordUid>": {
        "trafficEncryptionSeed": "<base64 text, either alphabet>",
        "protocol": "ssh",                       (optional: conversationType must match)
        "target": {"hostname": ..., "port": ..., "username": ..., "password": ...},
        "linkedUsers": {"<userRecordUid>": {"username": ..., "password": ...}},
        "dagJitSettings": {"createEphemeral": true, ...} | null,
        "ephemeralAccount": {...},               (else the global one)
        "allowSupplyUser": false,
        "guacd": "host:port",                    (else the global one)
        "guacdParams": {...},                    (server-side extras)
        "settings": {...},                       (extra create_tube settings, e.g. connect_as_settings)
        "behaviour": {...}                       (per-record switches)
      }
    }
  }
  GUACD=host:port in the environment overrides every guacd address.

Switches: refuse answers is_ok false with that error; silent never answers
(the POST is held until timeoutMs, then 504 like the router's timeout);
drop_after_ms closes the tube that long after the peer connection connects;
forms "mixed" alternates, on /signal/events, single objects and arrays, the
url-safe and standard conversationId alphabets and is_ok/isOk spellings.
"""

import argparse
import base64
import binascii
import json
import logging
import mimetypes
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

os.environ.setdefault("KEEPER_WEBRTC_DISABLE_CONNECTIVITY_CHECK", "1")

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

HKDF_INFO = b"KEEPER_TUNNEL_ENCRYPT_AES_GCM_128"

# Keeper Commander's ConversationType list (src/core/wire.rs) plus tunnel.
CONVERSATION_TYPES = {
    "rdp", "vnc", "telnet", "ssh", "kubernetes", "sql-server", "postgresql", "mysql",
    "mariadb", "oracle", "mongodb", "redis", "elasticsearch", "clickhouse", "dynamodb",
    "http", "tunnel",
}
CREDENTIAL_TYPES = {"ephemeral", "linked", "userSupplied"}
JIT_SETTINGS_KEYS = {"create_ephemeral", "ephemeral_account_type", "base_distinguished_name",
                     "pam_directory_uid_ref"}
JIT_ELEVATION_KEYS = {"elevate", "elevation_method", "elevation_string"}
SECRET_PARAM = re.compile(r"password|passphrase|private-key|private_key|client-key|secret|token|totp",
                          re.I)

DEFAULT_BEHAVIOUR = {
    "refuse": False,
    "silent": False,
    "drop_after_ms": None,
    "drop_reason": 9,  # ConnectionLost
    "ephemeral_delay_ms": 0,
    "answer_form": "answer",
    "forms": "mixed",
}

T0 = time.monotonic()


def now_ms():
    return round((time.monotonic() - T0) * 1000, 1)


# ------------------------------------------------------------------ secrets

class Secrets:
    """Strings that must never reach a log line or an HTTP log entry."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = set()

    def add(self, value):
        if not value:
            return
        if isinstance(value, bytes):
            forms = {base64.b64encode(value).decode(), base64.urlsafe_b64encode(value).decode(),
                     value.hex()}
            forms |= {f.rstrip("=") for f in forms}
        else:
            forms = {str(value)}
        with self._lock:
            self._items |= {f for f in forms if len(f) >= 4}

    def redact(self, text):
        with self._lock:
            items = sorted(self._items, key=len, reverse=True)
        for s in items:
            if s in text:
                text = text.replace(s, "<redacted>")
        return re.sub(r"(ice-pwd:)\S+", r"\1<redacted>", text)


SECRETS = Secrets()


class RedactingFilter(logging.Filter):
    def filter(self, record):
        msg = record.getMessage()
        red = SECRETS.redact(msg)
        if red != msg or record.args:
            record.msg, record.args = red, None
        return True


log = logging.getLogger("standin")


# ------------------------------------------------------------------ crypto

def b64decode_any(text, what):
    """Standard or url-safe base64, padding optional."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{what} is not a base64 string")
    s = text.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def derive_key(seed, nonce):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=HKDF_INFO).derive(seed)


def tunnel_encrypt(key, obj):
    data = obj if isinstance(obj, bytes) else (obj if isinstance(obj, str) else json.dumps(obj)).encode()
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, data, None)).decode()


def tunnel_decrypt(key, text):
    raw = base64.b64decode(text, validate=True)
    if len(raw) < 12 + 16:
        raise ValueError("too short")
    return AESGCM(key).decrypt(raw[:12], raw[12:], None)


# ------------------------------------------------------------------ helpers

def sdp_summary(sdp):
    lines = sdp.splitlines()
    out = {"lines": len(lines), "candidates": sum(1 for ln in lines if ln.startswith("a=candidate:")),
           "endOfCandidates": any(ln.startswith("a=end-of-candidates") for ln in lines),
           "maxMessageSize": None, "setup": None, "keeperWebrtc": None,
           "media": [ln[2:] for ln in lines if ln.startswith("m=")]}
    for ln in lines:
        if ln.startswith("a=max-message-size:"):
            out["maxMessageSize"] = ln.split(":", 1)[1]
        elif ln.startswith("a=setup:"):
            out["setup"] = ln.split(":", 1)[1]
        elif ln.startswith("a=keeper-webrtc:"):
            out["keeperWebrtc"] = ln.split(":", 1)[1]
        elif ln.startswith("a=ice-pwd:"):
            SECRETS.add(ln.split(":", 1)[1].strip())
    return out


def redact_params(params):
    return {k: ("" if v in ("", None) else "<redacted>") if SECRET_PARAM.search(k) else v
            for k, v in params.items()}


def cred_state(params, key):
    if key not in params:
        return "absent"
    return "empty" if params[key] in ("", None) else "set"


def parse_hostport(text, what):
    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{what}: expected host:port, got {text!r}")
    return host.strip("[]"), int(port)


def std_b64(b):
    return base64.b64encode(b).decode()


def urlsafe_b64(b):
    return base64.urlsafe_b64encode(b).decode()


class Refusal(Exception):
    """The launch is refused: is_ok false with this error text."""


# ------------------------------------------------------------------ state

class Conversation:
    def __init__(self, id_bytes, conversation_id, key, record_uid, trickle):
        self.id_bytes = id_bytes
        self.conversation_id = conversation_id  # as the client sent it (url-safe)
        self.label = std_b64(id_bytes)  # the data channel label
        self.key = key
        self.record_uid = record_uid
        self.trickle = trickle
        self.tube_id = None
        self.answer_emitted = False
        self.pending_candidates = []
        self.emit_count = 0
        self.msg_count = 0
        self.lock = threading.Lock()
        self.drop_timer = None
        self.info = {"conversationId": conversation_id, "label": self.label, "recordUid": record_uid,
                     "trickle": trickle, "times": {"request": now_ms()}, "signals": [],
                     "candidatesFromGateway": [], "candidatesFromClient": [], "events": 0}


class State:
    def __init__(self, config, args):
        self.config = config
        self.args = args
        self.lock = threading.Lock()
        self.behaviour = dict(DEFAULT_BEHAVIOUR)
        self.behaviour.update(config.get("behaviour") or {})
        self.convs = {}  # id bytes -> Conversation
        self.by_label = {}
        self.requests = []
        self.events = []  # (seq, id bytes, json text)
        self.events_cond = threading.Condition()
        self.subscribers = []  # filters (id bytes or None) of open /signal/events streams
        self.stopping = threading.Event()

    def wait_for_subscriber(self, id_bytes, seconds):
        """Waits until an event stream that would carry id_bytes' messages is open."""
        end = time.monotonic() + seconds
        with self.events_cond:
            while not any(f is None or f == id_bytes for f in self.subscribers):
                left = end - time.monotonic()
                if left <= 0 or self.stopping.is_set():
                    return False
                self.events_cond.wait(left)
        return True

    def record_behaviour(self, record):
        b = dict(self.behaviour)
        b.update((record or {}).get("behaviour") or {})
        return b

    def log_snapshot(self):
        with self.lock:
            return json.loads(SECRETS.redact(json.dumps({
                "now": now_ms(),
                "behaviour": self.behaviour,
                "requests": self.requests,
                "conversations": {c.label: c.info for c in self.convs.values()},
            })))

    # ---- router websocket replacement
    def emit(self, conv, responses):
        """Queues ControllerResponses for conv on /signal/events."""
        mixed = self.record_behaviour(self.config["records"].get(conv.record_uid)).get("forms") == "mixed"
        msgs = []
        for r in responses:
            n = conv.msg_count
            conv.msg_count += 1
            if mixed and n % 2 == 1 and "is_ok" in r:
                r = {("isOk" if k == "is_ok" else k): v for k, v in r.items()}
            cid = conv.conversation_id
            if mixed and n % 2 == 1:
                cid = std_b64(conv.id_bytes) if cid != std_b64(conv.id_bytes) else urlsafe_b64(conv.id_bytes)
            msgs.append({"conversationId": cid, "type": "webrtc-session", "payload": json.dumps(r)})
        as_array = mixed and conv.emit_count % 2 == 1
        conv.emit_count += 1
        events = [msgs] if as_array else msgs
        with self.events_cond:
            for e in events:
                self.events.append((len(self.events) + 1, conv.id_bytes, json.dumps(e)))
            conv.info["events"] += len(events)
            self.events_cond.notify_all()


# ------------------------------------------------------------------ the gateway

class Gateway:
    def __init__(self, state):
        self.s = state
        import keeper_pam_webrtc_rs as k  # noqa: PLC0415 (after the environment is set)
        self.k = k
        k.initialize_logger("keeper_pam_webrtc_rs", False, logging.getLevelName(state.args.lib_log_level))
        self.reg = k.PyTubeRegistry()

    # -------------------------------------------------------------- send
    def send(self, body):
        """Returns (http status, response object, log entry)."""
        if not isinstance(body, dict) or not isinstance(body.get("action"), dict):
            return 400, {"error": "body must be {action: GatewayAction, timeoutMs, streamResponse}"}, None
        action = body["action"]
        inputs = action.get("inputs") if isinstance(action.get("inputs"), dict) else {}
        entry = {"t": now_ms(), "kind": inputs.get("kind"), "conversationId": action.get("conversationId"),
                 "messageId": action.get("messageId"), "timeoutMs": body.get("timeoutMs"),
                 "streamResponse": body.get("streamResponse"), "inputs": self.redact_inputs(inputs),
                 "violations": []}
        with self.s.lock:
            self.s.requests.append(entry)
        t = time.monotonic()
        try:
            status, resp = self.dispatch(body, action, inputs, entry)
        except Refusal as e:
            status, resp = 200, {"is_ok": False, "error": str(e)}
        except Exception as e:  # a bug here must still answer
            log.exception("send failed")
            status, resp = 200, {"is_ok": False, "error": f"stand-in internal error: {type(e).__name__}: {e}"}
        entry["response"] = {"status": status, "is_ok": resp.get("is_ok"),
                             "error": resp.get("error"), "ms": round((time.monotonic() - t) * 1000, 1)}
        if resp.get("is_ok") is False:
            log.info("refused %s: %s", entry["kind"], resp.get("error"))
        return status, resp, entry

    @staticmethod
    def redact_inputs(inputs):
        out = {}
        for k, v in inputs.items():
            if k == "data":
                out[k] = {"encryptedChars": len(v) if isinstance(v, str) else None}
            elif k == "twoFactorValue":
                out[k] = "<redacted>" if v else v
            else:
                out[k] = v
        return out

    def dispatch(self, body, action, inputs, entry):
        v = []
        if action.get("action") != "webrtc-session":
            v.append(f"action must be \"webrtc-session\" (got {action.get('action')!r})")
        cid = action.get("conversationId")
        try:
            id_bytes = b64decode_any(cid, "conversationId")
        except ValueError as e:
            raise Refusal(f"Invalid GatewayAction: {e}") from None
        if action.get("messageId") != urlsafe_b64(id_bytes) and action.get("messageId") != cid:
            v.append("messageId must be the url-safe conversationId")
        if action.get("is_scheduled") is not False:
            v.append("is_scheduled must be false")
        if "gateway_destination" not in action or action["gateway_destination"] is not None:
            v.append("gateway_destination must be null")
        if not isinstance(action.get("inputs"), dict):
            v.append("inputs must be an object")
        if not isinstance(body.get("streamResponse"), bool):
            v.append("streamResponse must be a bool")
        kind = inputs.get("kind")
        if kind == "start":
            return self.start(body, action, inputs, id_bytes, entry, v)
        if v:
            entry["violations"] += v
            raise Refusal("Invalid GatewayAction: " + "; ".join(v))
        conv = self.s.convs.get(id_bytes)
        if conv is None:
            raise Refusal(f"No active session for conversation {cid}")
        if kind == "icecandidate":
            return self.icecandidate(conv, inputs, entry)
        if kind == "ice_restart_offer":
            return self.ice_restart(conv, inputs, body, entry)
        raise Refusal(f"Unsupported kind {kind!r}")

    # -------------------------------------------------------------- start
    def start(self, body, action, inputs, id_bytes, entry, v):
        cfg = self.s.config
        ctype = inputs.get("conversationType")
        if ctype not in CONVERSATION_TYPES:
            v.append(f"conversationType {ctype!r} is not a known protocol")
        trickle = inputs.get("trickleICE")
        if not isinstance(trickle, bool):
            v.append("trickleICE must be a bool")
        elif isinstance(body.get("streamResponse"), bool) and body["streamResponse"] != trickle:
            v.append("streamResponse must equal inputs.trickleICE")
        try:
            nonce = b64decode_any(inputs.get("base64Nonce"), "base64Nonce")
            if len(nonce) != 16:
                v.append(f"base64Nonce must decode to 16 bytes (got {len(nonce)})")
        except ValueError as e:
            nonce = None
            v.append(str(e))
        if inputs.get("base64Nonce") and re.search(r"[-_]", inputs["base64Nonce"]):
            v.append("base64Nonce must use the standard base64 alphabet")
        if not isinstance(inputs.get("data"), str):
            v.append("data must be a string")
        record_uid = inputs.get("recordUid")
        if not isinstance(record_uid, str) or not record_uid:
            v.append("recordUid must be a non-empty string")

        # credentialType and JIT objects (PR #1979 payload; #1991 gateway rules)
        ct = inputs.get("credentialType")
        jit = inputs.get("jitSettings")
        elev = inputs.get("jitElevation")
        if ct is not None and ct not in CREDENTIAL_TYPES:
            v.append(f"credentialType {ct!r} is not one of ephemeral, linked, userSupplied")
        if jit is not None:
            if not isinstance(jit, dict):
                v.append("jitSettings must be an object")
            else:
                bad = sorted(set(jit) - JIT_SETTINGS_KEYS)
                if bad:
                    v.append(f"jitSettings has unknown (not snake_case?) keys {json.dumps(bad)}")
        if elev is not None:
            if not isinstance(elev, dict):
                v.append("jitElevation must be an object")
            else:
                bad = sorted(set(elev) - JIT_ELEVATION_KEYS)
                if bad:
                    v.append(f"jitElevation has unknown (not snake_case?) keys {json.dumps(bad)}")
                if elev.get("elevate") is not True:
                    v.append("jitElevation is only sent with elevate: true")
        if ct == "ephemeral":
            if not isinstance(jit, dict) or jit.get("create_ephemeral") is not True:
                v.append("credentialType ephemeral requires jitSettings with create_ephemeral: true")
            if "userRecordUid" in inputs:
                v.append("credentialType ephemeral must not carry userRecordUid")
            if "allowSupplyUser" in inputs:
                v.append("credentialType ephemeral must not carry allowSupplyUser")
        elif isinstance(jit, dict) and jit.get("create_ephemeral") is True:
            v.append("jitSettings with create_ephemeral is only sent with credentialType ephemeral")
        if ct == "linked" and not (isinstance(inputs.get("userRecordUid"), str) and inputs["userRecordUid"]):
            v.append("credentialType linked requires userRecordUid")
        if ct == "userSupplied" and inputs.get("allowSupplyUser") is not True:
            v.append("credentialType userSupplied requires allowSupplyUser: true")
        want_timeout = 120000 if ct == "ephemeral" else 30000
        if body.get("timeoutMs") != want_timeout:
            v.append(f"timeoutMs must be {want_timeout} for this launch (got {body.get('timeoutMs')!r})")
        if v:
            entry["violations"] += v
            raise Refusal("Invalid launch request: " + "; ".join(v))

        record = cfg["records"].get(record_uid)
        if record is None:
            raise Refusal(f"Record {record_uid} is not a resource this gateway manages")
        beh = self.s.record_behaviour(record)
        if record.get("protocol") and record["protocol"] != ctype:
            raise Refusal(f"conversationType {ctype} does not match the resource's protocol {record['protocol']}")

        # offer data
        try:
            seed = b64decode_any(record.get("trafficEncryptionSeed"), "trafficEncryptionSeed")
        except ValueError as e:
            raise Refusal(f"Gateway configuration: {e}") from None
        key = derive_key(seed, nonce)
        SECRETS.add(key)
        try:
            offer = json.loads(tunnel_decrypt(key, inputs["data"]))
        except (InvalidTag, ValueError, binascii.Error):
            raise Refusal("Unable to decrypt the offer data (wrong trafficEncryptionSeed or nonce)") from None
        if not isinstance(offer, dict):
            raise Refusal("The offer data is not a JSON object")
        entry["offer"] = self.check_offer(offer, entry["violations"])
        if entry["violations"]:
            raise Refusal("Invalid offer data: " + "; ".join(entry["violations"]))
        client_params = offer.get("guacd_params") or {}
        entry["guacdParamsKeys"] = sorted(client_params)
        entry["guacdCredentials"] = {k: cred_state(client_params, k)
                                     for k in ("username", "password", "private-key", "passphrase")}

        # DAG rule of the later gateway (Commander #1991)
        dag = record.get("dagJitSettings") or {}
        if (dag.get("createEphemeral") or dag.get("create_ephemeral")) and ct != "ephemeral":
            raise Refusal("This resource requires a just-in-time ephemeral account: its jit_settings say "
                          f"createEphemeral, so credentialType must be \"ephemeral\" (got {ct or 'none'})")
        if ct == "ephemeral" and not (dag.get("createEphemeral") or dag.get("create_ephemeral")):
            raise Refusal("Ephemeral accounts are not enabled for this resource (no createEphemeral in its "
                          "jit_settings)")
        if ct == "userSupplied" and not record.get("allowSupplyUser"):
            raise Refusal("This resource does not allow user-supplied credentials")

        # server-side guacd parameters
        target = dict(record.get("target") or {})
        creds = {}
        if ct == "ephemeral":
            creds = dict(record.get("ephemeralAccount") or cfg.get("ephemeralAccount") or {})
            if not creds:
                raise Refusal("Gateway configuration: no ephemeral account to provision")
        elif ct == "linked":
            creds = (record.get("linkedUsers") or {}).get(inputs["userRecordUid"])
            if creds is None:
                raise Refusal(f"User record {inputs['userRecordUid']} is not linked to this resource")
        elif ct is None:
            creds = {k: target[k] for k in ("username", "password", "private-key", "passphrase") if k in target}
        for k in ("username", "password", "private-key", "passphrase"):
            target.pop(k, None)
        for x in (creds, target, record.get("guacdParams") or {}):
            for k, val in x.items():
                if SECRET_PARAM.search(k):
                    SECRETS.add(val)
        params = {}
        params.update({k: v for k, v in client_params.items() if k not in ("username", "password",
                                                                           "private-key", "passphrase")})
        size = offer["size"]
        params.update({"width": str(size[0]), "height": str(size[1]), "dpi": str(size[2] if len(size) > 2 else 96)})
        for k in ("image", "audio", "video"):
            if offer.get(k):
                params[k] = ",".join(offer[k])
        params.update(record.get("guacdParams") or {})
        params.update(target)
        params.update(creds)
        params = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()}

        guacd = os.environ.get("GUACD") or record.get("guacd") or self.s.args.guacd or cfg.get("guacd") \
            or "127.0.0.1:4822"
        ghost, gport = parse_hostport(guacd, "guacd")

        if beh.get("refuse"):
            msg = beh["refuse"] if isinstance(beh["refuse"], str) else "Gateway refused the connection"
            raise Refusal(msg)

        conv = Conversation(id_bytes, action["conversationId"], key, record_uid, trickle)
        conv.info.update({"credentialType": ct, "conversationType": ctype, "guacd": f"{ghost}:{gport}",
                          "guacdParams": redact_params(params), "offer": entry["offer"]})
        with self.s.lock:
            if id_bytes in self.s.convs:
                raise Refusal(f"Conversation {action['conversationId']} already exists")
            self.s.convs[id_bytes] = conv
            self.s.by_label[conv.label] = conv

        if beh.get("silent"):
            conv.info["silent"] = True
            wait = min(float(body.get("timeoutMs") or 30000) / 1000, self.s.args.max_seconds)
            self.s.stopping.wait(wait)
            return 504, {"responseCode": 4, "error": f"rrc_timeout: the gateway did not answer within "
                                                     f"{body.get('timeoutMs')} ms"}
        if ct == "ephemeral" and beh.get("ephemeral_delay_ms"):
            time.sleep(float(beh["ephemeral_delay_ms"]) / 1000)

        if ctype == "tunnel":
            settings = {"conversationType": "tunnel", "target_host": params.get("hostname", "127.0.0.1"),
                        "target_port": params.get("port", "22")}
        else:
            settings = {"conversationType": ctype, "guacd": {"guacd_host": ghost, "guacd_port": gport},
                        "guacd_params": params}
        settings.update(record.get("settings") or {})
        t = time.monotonic()
        conv.info["times"]["createTube"] = now_ms()
        info = self.reg.create_tube(
            conversation_id=conv.label, settings=settings, trickle_ice=trickle,
            callback_token="TEST_MODE_CALLBACK_TOKEN", krelay_server="test.relay.server.invalid",
            client_version="ms16.5.0", ksm_config="TEST_MODE_KSM_CONFIG",
            offer=offer["offer"], signal_callback=lambda sig: self.on_signal(conv, sig))
        conv.tube_id = info.get("tube_id")
        conv.info["tubeId"] = conv.tube_id
        conv.info["createTubeMs"] = round((time.monotonic() - t) * 1000, 1)
        answer_b64 = info.get("answer")
        if not answer_b64:
            raise Refusal("The WebRTC library returned no answer")
        answer_sdp = base64.b64decode(answer_b64).decode()
        conv.info["answer"] = sdp_summary(answer_sdp)
        conv.info["times"]["answer"] = now_ms()
        form = beh.get("answer_form", "answer")
        answer_obj = {"answer": answer_b64} if form == "answer" else {"sdp": answer_sdp} if form == "sdp" \
            else answer_sdp
        data = tunnel_encrypt(key, answer_obj)
        if not trickle:
            return 200, {"is_ok": True, "data": data}
        # An event stream opened just before the POST may not be connected yet.
        conv.info["subscriberWaitOk"] = self.s.wait_for_subscriber(id_bytes, 3)
        with conv.lock:
            self.s.emit(conv, [{"is_ok": True, "data": f"Offer buffered for {conv.conversation_id}"},
                               {"is_ok": True, "data": data}])
            conv.answer_emitted = True
            pending, conv.pending_candidates = conv.pending_candidates, []
            if pending:
                self.s.emit(conv, [{"is_ok": True, "data": tunnel_encrypt(key, {"candidates": pending})}])
        return 200, {"is_ok": True, "data": f"Connection request received for {conv.conversation_id}"}

    def check_offer(self, offer, v):
        out = {"keys": sorted(offer)}
        try:
            sdp = base64.b64decode(offer.get("offer") or "", validate=True).decode()
            if not sdp.startswith("v=0"):
                raise ValueError
            out["sdp"] = sdp_summary(sdp)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            v.append("offer.offer must be the base64 of an SDP offer")
        size = offer.get("size")
        if not (isinstance(size, list) and len(size) in (2, 3) and all(isinstance(x, int) and x > 0 for x in size)):
            v.append("offer.size must be [width, height, dpi] (positive integers)")
        for k in ("audio", "image"):
            if not (isinstance(offer.get(k), list) and all(isinstance(x, str) for x in offer[k])):
                v.append(f"offer.{k} must be a list of mimetypes")
        if "video" in offer and not isinstance(offer["video"], list):
            v.append("offer.video must be a list")
        gp = offer.get("guacd_params")
        if not isinstance(gp, dict) or not all(isinstance(x, (str, bool, int)) for x in gp.values()):
            v.append("offer.guacd_params must be an object of strings")
        for k in ("size", "audio", "video", "image", "host", "terminalSettings", "clipboard"):
            if k in offer:
                out[k] = offer[k]
        if isinstance(gp, dict):
            out["guacd_params"] = redact_params(gp)
        return out

    # -------------------------------------------------------------- candidates
    def icecandidate(self, conv, inputs, entry):
        try:
            obj = json.loads(tunnel_decrypt(conv.key, inputs.get("data") or ""))
        except (InvalidTag, ValueError, binascii.Error):
            raise Refusal("Unable to decrypt the candidate data") from None
        cands = obj.get("candidates") if isinstance(obj, dict) else None
        if not isinstance(cands, list):
            raise Refusal("icecandidate data must be {\"candidates\": [...]}")
        entry["candidates"] = len(cands)
        for c in cands:
            if isinstance(c, dict):
                c = json.dumps(c)
            conv.info["candidatesFromClient"].append({"t": now_ms(), "candidate": c})
            self.reg.add_ice_candidate(conv.tube_id, c)
        return 200, {"is_ok": True, "data": f"ice candidate received for {conv.conversation_id}"}

    def ice_restart(self, conv, inputs, body, entry):
        try:
            obj = json.loads(tunnel_decrypt(conv.key, inputs.get("data") or ""))
        except (InvalidTag, ValueError, binascii.Error):
            raise Refusal("Unable to decrypt the ICE restart offer") from None
        sdp = obj.get("sdp") if isinstance(obj, dict) else None
        if not isinstance(sdp, str):
            raise Refusal("ice_restart_offer data must be {\"type\": \"offer\", \"sdp\": ...}")
        sdp_summary(sdp)
        # With an offer, the library's set_remote_description returns the answer
        # (base64) itself; create_answer afterwards fails ("state Stable").
        ret = self.reg.set_remote_description(conv.tube_id, base64.b64encode(sdp.encode()).decode(), False)
        ans = base64.b64decode(ret if isinstance(ret, str) and ret else self.reg.create_answer(conv.tube_id)).decode()
        sdp_summary(ans)
        conv.info.setdefault("iceRestarts", []).append(now_ms())
        data = tunnel_encrypt(conv.key, {"sdp": ans})
        if body.get("streamResponse"):
            with conv.lock:
                self.s.emit(conv, [{"is_ok": True, "data": data}])
            return 200, {"is_ok": True, "data": f"ICE restart buffered for {conv.conversation_id}"}
        return 200, {"is_ok": True, "data": data}

    # -------------------------------------------------------------- signals
    def on_signal(self, conv, sig):
        try:
            kind = sig.get("kind")
            data = sig.get("data")
            rec = {"t": now_ms(), "kind": kind}
            if kind == "icecandidate":
                rec["data"] = data
                conv.info["candidatesFromGateway"].append({"t": rec["t"], "candidate": data})
                if conv.trickle:
                    with conv.lock:
                        if not conv.answer_emitted:
                            conv.pending_candidates.append(data)
                        else:
                            self.s.emit(conv, [{"is_ok": True,
                                                "data": tunnel_encrypt(conv.key, {"candidates": [data]})}])
                return
            if isinstance(data, str) and len(data) < 2000:
                try:
                    rec["data"] = json.loads(data) if data[:1] in "{[" else data
                except ValueError:
                    rec["data"] = data
            conv.info["signals"].append(rec)
            if kind == "connection_state_changed":
                conv.info["times"].setdefault(f"state:{data}", rec["t"])
                if conv.trickle and data in ("connected", "disconnected"):
                    with conv.lock:
                        self.s.emit(conv, [{"is_ok": True, "data": data}])
                beh = self.s.record_behaviour(self.s.config["records"].get(conv.record_uid))
                if data == "connected" and beh.get("drop_after_ms") is not None and conv.drop_timer is None:
                    conv.drop_timer = threading.Timer(float(beh["drop_after_ms"]) / 1000, self.drop,
                                                      (conv, int(beh.get("drop_reason", 9))))
                    conv.drop_timer.daemon = True
                    conv.drop_timer.start()
            elif kind == "channel_closed":
                conv.info["times"].setdefault("channelClosed", rec["t"])
        except Exception:  # never raise into the library
            log.exception("signal handling failed")

    def drop(self, conv, reason):
        conv.info["times"]["dropped"] = now_ms()
        log.info("dropping tube of %s (drop_after_ms, reason %d)", conv.label, reason)
        try:
            self.reg.close_tube(conv.tube_id, reason)
        except Exception as e:
            conv.info["dropError"] = str(e)

    def shutdown(self):
        try:
            self.reg.cleanup_all()
        except Exception:
            pass


# ------------------------------------------------------------------ HTTP

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def host_name(host):
    """The name of a Host header value ("[::1]:8080" -> "::1"), lower case; None if malformed."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^\[\]:/@\s]+)(?::(\d{1,5}))?", host or "")
    return m.group(1).strip("[]").lower() if m else None


def origin_refusal(host, origin, fetch_site, allowed_hosts):
    """None when a request with these headers comes from this server's own page, else why not."""
    name = host_name(host)
    if name is None:
        return "no valid Host header"
    if name not in allowed_hosts:
        return f"Host {name[:64]!r} is not this loopback server (DNS rebinding?)"
    if origin is not None and origin.lower() != f"http://{host}".lower():
        return f"cross-origin request from {origin[:80]!r}"
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {fetch_site[:20]!r}"
    return None


def make_handler(state, gateway, static_dir, allowed_hosts):
    class Handler(BaseHTTPRequestHandler):
        server_version = "pam-standin/1"
        disable_nagle_algorithm = True  # headers, body and events go out at once

        def log_message(self, fmt, *a):
            log.debug("http %s", SECRETS.redact(fmt % a))

        def refused(self):
            """Why this request may not use the stand-in (a sentence), or None."""
            why = origin_refusal(self.headers.get("Host"), self.headers.get("Origin"),
                                 self.headers.get("Sec-Fetch-Site"), allowed_hosts)
            if why:
                log.info("refused %s %s: %s", self.command, urlparse(self.path).path[:64], why)
                self.reply(403, {"error": f"the stand-in only answers its own page: {why}"})
            return why

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def read_json(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > 4 << 20:
                raise ValueError("body too large")
            return json.loads(self.rfile.read(n) or b"null")

        def do_OPTIONS(self):  # noqa: N802
            # A CORS preflight: this server has no cross-origin clients.
            if not self.refused():
                self.reply(405, {"error": "method not allowed"})

        def do_POST(self):  # noqa: N802
            if self.refused():
                return None
            path = urlparse(self.path).path
            try:
                body = self.read_json()
            except ValueError as e:
                return self.reply(400, {"error": f"body is not JSON: {e}"})
            if path == "/signal/send":
                status, resp, _ = gateway.send(body)
                return self.reply(status, resp)
            if path == "/signal/_behaviour":
                if not isinstance(body, dict) or set(body) - set(DEFAULT_BEHAVIOUR):
                    return self.reply(400, {"error": f"switches: {sorted(DEFAULT_BEHAVIOUR)}"})
                with state.lock:
                    state.behaviour.update(body)
                return self.reply(200, {"ok": True, "behaviour": state.behaviour})
            return self.reply(404, {"error": "not found"})

        def do_GET(self):  # noqa: N802
            if self.refused():
                return None
            u = urlparse(self.path)
            if u.path == "/signal/events":
                return self.events(parse_qs(u.query))
            if u.path == "/signal/_log":
                return self.reply(200, state.log_snapshot())
            if u.path == "/signal/_health":
                return self.reply(200, {"ok": True})
            if static_dir:
                return self.static(u.path)
            return self.reply(404, {"error": "not found"})

        def static(self, path):
            rel = os.path.normpath(unquote(path).lstrip("/")) or "."
            full = os.path.join(static_dir, rel)
            real = os.path.realpath(full)
            if rel.startswith("..") or os.path.isabs(rel) or (real != static_dir and
                                                               not real.startswith(static_dir + os.sep)):
                return self.reply(403, {"error": "forbidden"})
            if os.path.isdir(full):
                full = os.path.join(full, "index.html")
            if not os.path.isfile(full):
                return self.reply(404, {"error": "not found"})
            ctype = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                     ".json": "application/json"}.get(os.path.splitext(full)[1]) \
                or mimetypes.guess_type(full)[0] or "application/octet-stream"
            with open(full, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

        def events(self, q):
            want = None
            if q.get("conversationId"):
                try:
                    want = b64decode_any(q["conversationId"][0], "conversationId")
                except ValueError as e:
                    return self.reply(400, {"error": str(e)})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                self.wfile.write(b": stand-in events\n\n")
                self.wfile.flush()
            except OSError:
                return
            with state.events_cond:
                i = 0 if want is not None else len(state.events)
                last = self.headers.get("Last-Event-ID")
                if last and last.isdigit():
                    i = int(last)
                state.subscribers.append(want)
                state.events_cond.notify_all()
            try:
                while not state.stopping.is_set():
                    with state.events_cond:
                        if i >= len(state.events):
                            state.events_cond.wait(10)
                        batch = state.events[i:]
                        i = len(state.events)
                    out = []
                    for seq, idb, text in batch:
                        if want is None or idb == want:
                            out.append(f"id: {seq}\ndata: {text}\n\n")
                    if not batch:
                        out.append(": keepalive\n\n")
                    if out:
                        self.wfile.write("".join(out).encode())
                        self.wfile.flush()
            except OSError:
                pass
            finally:
                with state.events_cond:
                    state.subscribers.remove(want)

    return Handler


# ------------------------------------------------------------------ main

def main(argv=None):
    ap = argparse.ArgumentParser(description="Local Keeper Gateway stand-in (tests).")
    ap.add_argument("--config", required=True, help="JSON config file (records, seeds, targets, switches)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--guacd", help="guacd address host:port (GUACD in the environment wins)")
    ap.add_argument("--static", help="serve the files of this directory under /")
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--refuse", help="refuse every launch with this error text")
    ap.add_argument("--silent", action="store_true", help="never answer a launch")
    ap.add_argument("--drop-after-ms", type=int, help="close the tube this long after it connects")
    ap.add_argument("--log-level", default="INFO")
    ap.add_argument("--lib-log-level", default="WARNING", help="keeper_pam_webrtc_rs' log level")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin closes")
    args = ap.parse_args(argv)

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("standin %(relativeCreated)7.0f ms %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])
    log.setLevel(args.log_level.upper())
    for name in ("keeper_pam_webrtc_rs", "webrtc", "webrtc_ice", "webrtc_sctp", "webrtc_dtls", "webrtc_mdns",
                 "turn", "stun"):
        logging.getLogger(name).setLevel(args.lib_log_level.upper())
    args.lib_log_level = args.lib_log_level.upper()

    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    config.setdefault("records", {})
    for rec in config["records"].values():
        seed = rec.get("trafficEncryptionSeed")
        SECRETS.add(seed)
        try:
            SECRETS.add(b64decode_any(seed, "seed"))
        except ValueError:
            pass
        for group in [rec.get("target"), rec.get("ephemeralAccount"), *(rec.get("linkedUsers") or {}).values()]:
            for k, val in (group or {}).items():
                if SECRET_PARAM.search(k):
                    SECRETS.add(val)
    for k, val in (config.get("ephemeralAccount") or {}).items():
        if SECRET_PARAM.search(k):
            SECRETS.add(val)

    state = State(config, args)
    if args.refuse:
        state.behaviour["refuse"] = args.refuse
    if args.silent:
        state.behaviour["silent"] = True
    if args.drop_after_ms is not None:
        state.behaviour["drop_after_ms"] = args.drop_after_ms
    gateway = Gateway(state)

    static_dir = os.path.realpath(args.static) if args.static else None
    allowed = set(LOOPBACK_HOSTS)
    if args.host not in ("0.0.0.0", "::", ""):
        allowed.add(args.host.lower().strip("[]"))
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(state, gateway, static_dir, allowed))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    out_lock = threading.Lock()

    def say(obj):
        with out_lock:
            sys.stdout.write(SECRETS.redact(json.dumps(obj)) + "\n")
            sys.stdout.flush()

    done = threading.Event()

    def stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def stdin_loop():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
                if cmd.get("cmd") == "log":
                    say({"log": state.log_snapshot()})
                elif cmd.get("cmd") == "behaviour":
                    with state.lock:
                        state.behaviour.update(cmd.get("set") or {})
                    say({"ok": True, "behaviour": state.behaviour})
                elif cmd.get("cmd") == "quit":
                    break
                else:
                    say({"ok": False, "error": "commands: log, behaviour, quit"})
            except (ValueError, AttributeError) as e:
                say({"ok": False, "error": f"bad command: {e}"})
        done.set()

    if not args.ignore_stdin:
        threading.Thread(target=stdin_loop, daemon=True).start()

    host, port = httpd.server_address[:2]
    say({"ready": True, "host": host, "port": port, "pid": os.getpid(),
         "url": f"http://{host}:{port}", "library": "keeper-pam-webrtc-rs"})
    log.info("listening on %s:%d (max %ss)", host, port, args.max_seconds)
    done.wait(args.max_seconds)
    state.stopping.set()
    with state.events_cond:
        state.events_cond.notify_all()
    log.info("stopping")
    t = threading.Thread(target=gateway.shutdown, daemon=True)
    t.start()
    t.join(2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
