// The app's offline store (IndexedDB through idb): tokens, settings, the cached sites, the outbox, my reports.
// Shared by the page and the service worker, so either can send what waits.
import { openDB } from "/static/vendor/idb.js";

const DB_NAME = "volunteer-app";

let opened;

export function db() {
  opened ??= openDB(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore("kv");
      database.createObjectStore("sites", { keyPath: "id" });
      database.createObjectStore("outbox", { keyPath: "client_uuid" }).createIndex("created_at", "created_at");
      database.createObjectStore("mine", { keyPath: "key" });
    },
  });
  return opened;
}

export async function getValue(key, fallback = null) {
  const value = await (await db()).get("kv", key);
  return value === undefined ? fallback : value;
}

export async function setValue(key, value) {
  return (await db()).put("kv", value, key);
}

export async function deleteValue(key) {
  return (await db()).delete("kv", key);
}

export const getAuth = () => getValue("auth");
export const setAuth = (auth) => setValue("auth", auth);

// Signing out forgets everything of the account but what still waits to be sent.
export async function forgetAccount() {
  const database = await db();
  const tx = database.transaction(["kv", "sites", "mine"], "readwrite");
  await Promise.all([tx.objectStore("kv").delete("auth"), tx.objectStore("kv").delete("sync_cursor"),
    tx.objectStore("sites").clear(), tx.objectStore("mine").clear(), tx.done]);
}
