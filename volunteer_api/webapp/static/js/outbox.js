// The outbox: everything filed waits here (IndexedDB) with the client_uuid made when it was filed, and is
// sent when the network allows, by the page or by the service worker (Background Sync). A retry never makes
// a second record: the server answers the same client_uuid with the same inspection, and the same photo
// bytes on one inspection with the same photo.
import { ApiError, Offline, SignInNeeded, api, newUuid } from "./api.js";
import { db, getAuth } from "./db.js";

export const SYNC_TAG = "vm-outbox";
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 10 * 60_000;
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("vm-outbox") : null;

export function onOutboxChange(listener) {
  channel?.addEventListener("message", listener);
}

function changed() {
  channel?.postMessage("changed");
}

function photoEntries(files) {
  return files.map((file, index) => ({ blob: file, name: file.name || `photo-${index + 1}.jpg`, state: "waiting" }));
}

// Each entry is its author's: on a shared phone, the next volunteer to sign in neither sees nor sends it.
async function author() {
  return (await getAuth())?.user?.id ?? null;
}

async function put(item) {
  await (await db()).put("outbox", item);
  changed();
  return item;
}

export async function queueInspection({ site, body, photos }) {
  return put({ client_uuid: body.client_uuid, kind: "inspection", user_id: await author(), site_id: site.id, site_name: site.name,
    body, photos: photoEntries(photos), state: "waiting", attempts: 0, next_at: 0,
    created_at: new Date().toISOString() });
}

export async function queueSaving({ site, body }) {
  return put({ client_uuid: body.client_uuid, kind: "saving", user_id: await author(), site_id: site.id, site_name: site.name, body,
    photos: [], state: "waiting", attempts: 0, next_at: 0, created_at: new Date().toISOString() });
}

// A returned inspection goes back with more photos and a note: its own outbox entry, sent in the same way.
export async function queueResubmission({ inspection, notes, photos }) {
  return put({ client_uuid: newUuid(), kind: "resubmit", user_id: await author(), server_id: inspection.id, site_id: inspection.site_id,
    site_name: inspection.site_name, body: notes ? { notes } : {}, photos: photoEntries(photos), state: "waiting",
    attempts: 0, next_at: 0, created_at: new Date().toISOString() });
}

// The signed-in volunteer's entries, newest first.
export async function outboxItems() {
  const me = await author();
  return (await (await db()).getAllFromIndex("outbox", "created_at")).filter((item) => item.user_id === me).reverse();
}

function backoff(attempts) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempts);
  return ceiling / 2 + Math.random() * ceiling / 2;
}

async function sendPhotos(item) {
  for (const photo of item.photos) {
    if (photo.state !== "waiting") continue;
    const form = new FormData();
    form.append("file", photo.blob, photo.name);
    try {
      const stored = await api(`/inspections/${item.server_id}/photos`, { method: "POST", form });
      Object.assign(photo, { state: "sent", id: stored.id, sha256: stored.sha256, blob: null });
    } catch (error) {
      if (!(error instanceof ApiError) || error.transient || waitsForTheVolunteer(error)) throw error;
      // The server will never take this photo (reviewed meanwhile, too large, not an image): say so, go on.
      Object.assign(photo, { state: "refused", error: error.message });
    }
    await put(item);
  }
}

async function sendItem(item) {
  if (item.kind === "inspection" && !item.server_id) {
    const inspection = await api("/inspections", { method: "POST", json: item.body });
    Object.assign(item, { server_id: inspection.id, flagged: inspection.flagged, status: inspection.status,
      flag_reasons: inspection.flag_reasons });
    await put(item);
  }
  if (item.kind === "saving" && !item.server_id) {
    const saving = await api("/savings", { method: "POST", json: item.body });
    Object.assign(item, { server_id: saving.id, status: saving.status });
    await put(item);
  }
  if (item.kind !== "saving") await sendPhotos(item);
  if (item.kind === "resubmit" && !item.resubmitted) {
    try {
      const inspection = await api(`/inspections/${item.server_id}/resubmit`, { method: "POST", json: item.body });
      item.status = inspection.status;
    } catch (error) {
      // 409: no longer returned — our earlier resubmission went through and only its answer was lost.
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
    item.resubmitted = true;
  }
  Object.assign(item, { state: "sent", sent_at: new Date().toISOString(), error: null });
}

// The server takes nothing until the account sets its own password (FORCE_PASSWORD_CHANGE) or the app is
// updated (426): the entry waits for that, it is not refused.
function waitsForTheVolunteer(error) {
  return error instanceof ApiError && (error.status === 426
    || (error.status === 403 && String(error.problem.type || "").endsWith("/password-change-required")));
}

// Send whatever is due (everything when `force`, e.g. the network just came back); true when nothing waits.
export async function flushOutbox({ force = false } = {}) {
  const run = async () => {
    const now = Date.now();
    for (const item of await outboxItems()) {
      if (item.state !== "waiting" || (!force && item.next_at > now)) continue;
      try {
        await sendItem(item);
      } catch (error) {
        if (error instanceof Offline || error instanceof SignInNeeded || (error instanceof ApiError && error.transient)
            || waitsForTheVolunteer(error)) {
          Object.assign(item, { attempts: item.attempts + 1, next_at: Date.now() + backoff(item.attempts),
            error: error instanceof SignInNeeded ? "sign-in" : error.message });
          await put(item);
          if (error instanceof Offline || error instanceof SignInNeeded || waitsForTheVolunteer(error)) break; // the rest would fail alike
          continue;
        }
        Object.assign(item, { state: "refused", error: error.message, status_code: error.status });
      }
      await put(item);
    }
    return (await outboxItems()).every((item) => item.state !== "waiting");
  };
  return navigator.locks ? navigator.locks.request("vm-outbox", run) : run();
}

export async function removeOutboxItem(clientUuid) {
  await (await db()).delete("outbox", clientUuid);
  changed();
}
