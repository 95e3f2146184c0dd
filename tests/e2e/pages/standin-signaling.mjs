// issue 6's `signaling` contract on the local gateway stand-in's endpoints
// (tests/gateway/standin.py): what a web vault's router client does, over
// plain HTTP + Server-Sent Events on loopback.
//
//   const signaling = standinSignaling('');          // same origin as the stand-in
//   await signaling.send(action, { timeoutMs, streamResponse })
//     -> the ControllerResponse object { is_ok | isOk, data?, error? };
//        rejects on a router-level failure (HTTP status other than 200, e.g.
//        504 when the gateway never answered) or when `signal` aborts.
//   const unsubscribe = signaling.subscribe(handler)
//     handler gets each router websocket message parsed from JSON: an object
//     or an array of { conversationId, type, payload: "<ControllerResponse JSON>" }.
export function standinSignaling(base = '') {
  return {
    async send(action, { timeoutMs, streamResponse, signal } = {}) {
      const r = await fetch(`${base}/signal/send`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ action, timeoutMs, streamResponse }),
        signal,
      });
      const body = await r.json().catch(() => null);
      if (r.status !== 200) {
        const e = new Error((body && body.error) || `router error: HTTP ${r.status}`);
        e.status = r.status;
        e.responseCode = body && body.responseCode;
        throw e;
      }
      return body;
    },
    // Optional second argument: { conversationId } limits the stream to one
    // conversation and replays its earlier messages.
    subscribe(handler, { conversationId } = {}) {
      const q = conversationId ? `?conversationId=${encodeURIComponent(conversationId)}` : '';
      const es = new EventSource(`${base}/signal/events${q}`);
      es.onmessage = (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        handler(msg);
      };
      const unsubscribe = () => es.close();
      unsubscribe.ready = new Promise((resolve) => {
        es.addEventListener('open', () => resolve(), { once: true });
      });
      return unsubscribe;
    },
  };
}
