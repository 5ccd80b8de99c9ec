// Alerts by Web Push: subscribe with the server's VAPID key and register the subscription as a device.
import { api } from "./api.js";
import { getValue, setValue } from "./db.js";

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export async function enablePush() {
  const config = await api("/client-config", { anonymous: true });
  if (!config.web_push_public_key) throw new Error("push-off");
  if ((await Notification.requestPermission()) !== "granted") throw new Error("push-denied");
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true, applicationServerKey: keyBytes(config.web_push_public_key) });
  const device = await api("/devices", { method: "POST", json: { platform: "web", push: subscription.toJSON() } });
  await setValue("device_id", device.id);
  return device;
}

export async function disablePush() {
  const deviceId = await getValue("device_id");
  if (deviceId) await api(`/devices/${deviceId}`, { method: "DELETE" }).catch(() => null);
  const registration = await navigator.serviceWorker.ready;
  await (await registration.pushManager.getSubscription())?.unsubscribe();
  await setValue("device_id", null);
}
