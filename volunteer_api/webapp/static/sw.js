// The service worker: keeps the app shell for offline use, sends the outbox when Background Sync says the
// network is back, and shows alerts that arrive by Web Push. The server writes in the shell's version and files.
import { SYNC_TAG, flushOutbox } from "./js/outbox.js";

const CACHE = "vm-app-__SHELL_VERSION__";
const SHELL = ["__SHELL_FILES__"];

self.addEventListener("install", (event) => {
  // "reload": past the HTTP cache, so a new shell never keeps a stale copy of a long-cached vendor file.
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("vm-app-") && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (event.request.mode === "navigate" && url.pathname.startsWith("/app/")) {
    // Any page of the app is the one shell: network first (a fresh deployment), the cached copy offline.
    event.respondWith(fetch(event.request).catch(() => caches.match("/app/", { cacheName: CACHE })));
    return;
  }
  event.respondWith(caches.match(event.request, { cacheName: CACHE, ignoreSearch: true })
    .then((cached) => cached || fetch(event.request)));
});

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) {
    // Rejecting asks the browser to try again later (with its own backoff) when something still waits.
    event.waitUntil(flushOutbox({ force: true }).then((done) => { if (!done) throw new Error("outbox not empty"); }));
  }
});

self.addEventListener("push", (event) => {
  const alert = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification(alert.title || "", {
    body: alert.body || "", tag: alert.alert_id, data: { url: alert.url || "/app/" }, icon: "/app/icons/icon-192.png" }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/app/", self.location.origin).href;
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if (client.url.startsWith(target) && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target);
  })());
});
