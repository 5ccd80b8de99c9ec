// The console's service worker: it shows the alerts pushed to this browser and opens the console on a click.
// It caches nothing (the console is a live screen, not an offline one).
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  const alert = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification(alert.title || "", {
    body: alert.body || "", tag: alert.alert_id, data: { url: alert.url || "/console/" } }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let target = new URL(event.notification.data?.url || "/console/", self.location);
  // Only the console's own pages: an absolute URL to another site (or a path outside /console/) opens its home.
  if (target.origin !== self.location.origin || !target.pathname.startsWith("/console/")) {
    target = new URL("/console/", self.location.origin);
  }
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if (client.url.startsWith(target.href) && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target.href);
  })());
});
