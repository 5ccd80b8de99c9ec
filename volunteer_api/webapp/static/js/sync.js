// Keep the phone's copy current through /sync: my district's sites (dropping those that left it) and the
// state of my inspections and savings reports, each change once, in commit order.
import { api } from "./api.js";
import { db, getValue, setValue } from "./db.js";

const PAGE = 200;
const MAX_PAGES = 100; // bounded: 20,000 changes in one go is more than a district ever has

export async function pullChanges() {
  let cursor = await getValue("sync_cursor");
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set("since", cursor);
    const changes = await api(`/sync?${query}`);
    const database = await db();
    const tx = database.transaction(["sites", "mine", "kv"], "readwrite");
    const sites = tx.objectStore("sites");
    const mine = tx.objectStore("mine");
    for (const removed of changes.removed || []) if (removed.type === "site") sites.delete(removed.id);
    for (const site of changes.sites) sites.put(site);
    for (const inspection of changes.inspections) mine.put({ ...inspection, kind: "inspection", key: `inspection:${inspection.id}` });
    for (const saving of changes.savings) mine.put({ ...saving, kind: "saving", key: `saving:${saving.id}` });
    tx.objectStore("kv").put(changes.next_cursor, "sync_cursor");
    await tx.done;
    cursor = changes.next_cursor;
    if (!changes.has_more) return;
  }
}

export async function cachedSites() {
  return (await db()).getAll("sites");
}

export async function myReports() {
  return (await db()).getAll("mine");
}

export async function myReport(key) {
  return (await db()).get("mine", key);
}

export async function lastSyncCursor() {
  return getValue("sync_cursor");
}

export async function rememberSynced() {
  await setValue("synced_at", new Date().toISOString());
}
