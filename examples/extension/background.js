// The extension's service worker. It only opens the session page: an MV3
// service worker has no RTCPeerConnection (and no canvas), so the session
// lives in an extension page, which has a window.

// A toolbar click opens a new session page (one session per tab).
function onActionClicked() {
  return chrome.tabs.create({ url: chrome.runtime.getURL('session.html') });
}

chrome.action.onClicked.addListener(onActionClicked);

// Headless Chromium has no toolbar to click: the example's test checks that
// this listener is registered and calls it as Chrome does on a click.
self.onActionClicked = onActionClicked;
