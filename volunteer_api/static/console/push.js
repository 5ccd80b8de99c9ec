// Alerts on this computer: subscribe this browser to Web Push and register it through the console's session.
const panel = document.getElementById("push-panel");
const button = document.getElementById("push-toggle");
const status = document.getElementById("push-status");
const STORE_KEY = "vm-console-push-device";

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": panel.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.redirected) { // the console's session ended: its sign-in page, then back here
    window.location.assign(response.url);
    throw new Error(panel.dataset.signIn);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw Object.assign(new Error(problem.detail || response.statusText), { status: response.status });
  }
  return response.status === 204 ? null : response.json();
}

function show(on, message) {
  button.textContent = on ? panel.dataset.textOff : panel.dataset.textOn;
  button.setAttribute("aria-pressed", on ? "true" : "false");
  status.textContent = message || (on ? panel.dataset.stateOn : panel.dataset.stateOff);
}

async function turnOn() {
  const config = await (await fetch("/api/v1/client-config")).json();
  if (!config.web_push_public_key) throw new Error(panel.dataset.unavailable);
  if ((await Notification.requestPermission()) !== "granted") throw new Error(panel.dataset.denied);
  const registration = await navigator.serviceWorker.register(panel.dataset.worker, { scope: "/console/" });
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true, applicationServerKey: keyBytes(config.web_push_public_key) });
  const device = await post(panel.dataset.register, subscription.toJSON());
  localStorage.setItem(STORE_KEY, device.id);
}

async function turnOff() {
  const deviceId = localStorage.getItem(STORE_KEY);
  // 404: already gone (the push service had dropped it, or it was removed from another tab).
  if (deviceId) await post(panel.dataset.remove.replace("DEVICE_ID", encodeURIComponent(deviceId)))
    .catch((error) => { if (error.status !== 404) throw error; });
  const registration = await navigator.serviceWorker.getRegistration("/console/");
  await (await registration?.pushManager.getSubscription())?.unsubscribe();
  localStorage.removeItem(STORE_KEY);
}

if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) {
  button.disabled = true;
  status.textContent = panel.dataset.unavailable;
} else {
  show(Boolean(localStorage.getItem(STORE_KEY)));
  button.addEventListener("click", async () => {
    const on = Boolean(localStorage.getItem(STORE_KEY));
    button.disabled = true;
    try {
      if (on) await turnOff(); else await turnOn();
      show(!on);
    } catch (error) {
      // The browser's own refusals (no push service reachable, a network error) are in its language, not ours.
      show(on, error instanceof DOMException || error instanceof TypeError ? panel.dataset.unavailable : error.message);
    }
    button.disabled = false;
  });
}
