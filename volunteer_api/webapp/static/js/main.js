// The app: routes (#/sites, #/inspect/ID, #/saving/ID, #/outbox, #/mine, #/returned/ID, #/more), the
// sign-in, and the moments the outbox is sent (on open, on `online`, after filing, by Background Sync).
import { ApiError, Offline, SignInNeeded, api, newUuid, signIn } from "./api.js";
import { forgetAccount, getAuth, getValue, setAuth, setValue } from "./db.js";
import { currentPosition } from "./geo.js";
import { isSupported, setLanguage, t } from "./i18n.js";
import { SYNC_TAG, flushOutbox, onOutboxChange, outboxItems, queueInspection, queueResubmission, queueSaving } from "./outbox.js";
import { parseAmount } from "./money.js";
import { prepare } from "./photos.js";
import { disablePush, enablePush, pushSupported } from "./push.js";
import { cachedSites, myReport, myReports, pullChanges } from "./sync.js";
import * as views from "./views.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const offlineBanner = document.getElementById("offline");
const toast = document.getElementById("toast");

let position; // undefined: still looking; null: unknown; else {lat, lon, accuracy_m}
let screenMessage = null;

function show(nodes, { focus = true } = {}) {
  main.replaceChildren(...nodes.filter(Boolean));
  bindLanguageSwitch();
  if (focus) main.focus({ preventScroll: true });
}

let toastTimer;

function notify(text) {
  toast.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.textContent = ""; }, 5000);
}

function route() {
  const [, name = "sites", id] = location.hash.match(/^#\/(\w+)(?:\/(.+))?/) || [];
  return { name, id };
}

function renderNav() {
  const { name } = route();
  const tabs = [["sites", "nav_sites"], ["outbox", "nav_outbox"], ["mine", "nav_mine"], ["more", "nav_more"]];
  nav.setAttribute("aria-label", t("nav_label"));
  nav.replaceChildren(views.h("ul", {}, tabs.map(([tab, label]) => views.h("li", {},
    views.h("a", { href: `#/${tab}`, "aria-current": tab === name ? "page" : false, text: t(label) })))));
}

function renderChrome() {
  document.title = t("brand");
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("skip").textContent = t("skip");
  offlineBanner.textContent = t("offline");
  offlineBanner.hidden = navigator.onLine;
}

async function render({ focus = true } = {}) {
  renderChrome();
  const auth = await getAuth();
  if (!auth?.refresh_token) {
    nav.hidden = true;
    show(views.signInView({ onSubmit: submitSignIn, error: screenMessage }), { focus });
    return;
  }
  if (auth.user?.must_change_password) {
    nav.hidden = true;
    show(views.changePasswordView({ onSubmit: submitPasswordChange }), { focus });
    return;
  }
  nav.hidden = false;
  renderNav();
  const { name, id } = route();
  const sites = await cachedSites();
  if (name === "inspect" || name === "saving") {
    const site = sites.find((candidate) => candidate.id === id);
    if (!site) { location.hash = "#/sites"; return; }
    show(name === "inspect"
      ? views.inspectionFormView({ site, position, onLocate: () => locate(true), onSubmit: (form) => submitInspection(site, form) })
      : views.savingFormView({ site, onSubmit: (form) => submitSaving(site, form) }), { focus });
  } else if (name === "outbox") {
    show(views.outboxView({ items: await outboxItems(), reports: await myReports(), online: navigator.onLine,
      onSendNow: () => sendNow(true) }), { focus });
  } else if (name === "mine") {
    show(views.mineView({ reports: await myReports(), sites }), { focus });
  } else if (name === "returned") {
    const inspection = await myReport(`inspection:${id}`);
    if (!inspection) { location.hash = "#/mine"; return; }
    const siteName = sites.find((site) => site.id === inspection.site_id)?.name;
    show(views.returnedView({ inspection, siteName,
      onSubmit: (form) => submitResubmission({ ...inspection, site_name: siteName }, form) }), { focus });
  } else if (name === "more") {
    show(views.moreView({ user: auth.user, pushState: pushSupported() ? ((await getValue("device_id")) ? "on" : "off") : "unsupported",
      onPush: togglePush, onSignOut: signOut, onRefresh: refreshData, message: screenMessage }), { focus });
  } else {
    show(views.sitesView({ sites, position, onLocate: () => locate(true) }), { focus });
  }
  screenMessage = null;
}

function bindLanguageSwitch() {
  document.getElementById("language")?.addEventListener("change", async (event) => {
    await setValue("lang", event.target.value);
    setLanguage(event.target.value);
    render();
  });
}

// Only the form's own position block changes while the volunteer fills it in: the rest keeps its input.
function refreshPositionBlock() {
  const { name } = route();
  if (name === "sites") {
    // The list of sites, nearest first, follows the position; a sign-in or password form being typed in
    // (shown at the same route) is left alone, or a position arriving would wipe what was typed.
    getAuth().then((auth) => {
      if (auth?.refresh_token && !auth.user?.must_change_password) render({ focus: false });
    });
  }
  if (name !== "inspect") return;
  cachedSites().then((sites) => {
    const site = sites.find((candidate) => candidate.id === route().id);
    const form = document.getElementById("inspection-form");
    if (!site || !form) return;
    const fresh = views.inspectionFormView({ site, position, onLocate: () => locate(true), onSubmit: () => {} })[2];
    const block = fresh.querySelector("#position-block");
    form.querySelector("#position-block").replaceWith(block);
    block.querySelector("button").addEventListener("click", () => locate(true));
    form.querySelector("button[type=submit]").disabled = !position;
  });
}

async function locate(fresh = false) {
  if (fresh) { position = undefined; refreshPositionBlock(); }
  try {
    position = await currentPosition({ fresh });
  } catch {
    position = null;
  }
  refreshPositionBlock();
}

async function submitSignIn(form) {
  try {
    const { user } = await signIn(String(form.get("login")).trim(), String(form.get("password")));
    screenMessage = null;
    locate(true); // the permission prompt, if any, comes with the first screen that needs it
    // What waited for this sign-in (a lost session) goes now; after the password change if one is due.
    if (!user?.must_change_password) await sendNow(true);
  } catch (error) {
    screenMessage = error instanceof Offline ? t("need_network") : error instanceof ApiError && error.status === 401
      ? t("wrong_login") : t("error", { m: error.message });
  }
  render();
}

async function submitPasswordChange(form) {
  try {
    await api("/auth/password", { method: "POST", json: {
      current_password: String(new FormData(form).get("current_password")),
      new_password: String(new FormData(form).get("new_password")) } });
  } catch (error) {
    const errors = error instanceof ApiError ? error.problem.errors || {} : {};
    const general = Object.keys(errors).length ? "" : error instanceof Offline ? t("need_network")
      : error instanceof SignInNeeded ? t("session_ended") : t("error", { m: error.message });
    if (error instanceof SignInNeeded) { screenMessage = general; render(); return; }
    views.showFieldErrors(form, errors, general);
    return;
  }
  // Every other session ends; ours carries on with a fresh look at the account.
  const auth = await getAuth();
  const user = await api("/me").catch(() => ({ ...auth.user, must_change_password: false }));
  await setAuth({ ...(await getAuth()), user });
  screenMessage = null;
  render();
  sendNow(true);
}

function checkedBody(form, site) {
  const data = new FormData(form);
  const checklist = Object.fromEntries(["work_in_progress", "workers_present", "safety_violations", "quality_issues",
    "schedule_delay", "docs_on_site"].map((name) => [name, data.get(name) === "on"]));
  const progress = data.get("progress_percent");
  if (progress !== "" && progress !== null) checklist.progress_percent = Math.max(0, Math.min(100, Math.round(Number(progress))));
  const body = { client_uuid: newUuid(), site_id: site.id, captured_at: new Date().toISOString(),
    location: { lat: position.lat, lon: position.lon, accuracy_m: position.accuracy_m },
    checklist, severity: data.get("severity") || "none" };
  const notes = String(data.get("notes") || "").trim();
  if (notes) body.notes = notes;
  return body;
}

async function submitInspection(site, form) {
  if (!position) return;
  const body = checkedBody(form, site);
  const photos = await prepare(form.querySelector("#photos").files, { resize: form.querySelector("#resize").checked });
  await queueInspection({ site, body, photos });
  afterFiling();
}

async function submitSaving(site, form) {
  const data = new FormData(form);
  const amount = parseAmount(data.get("amount"));
  const description = String(data.get("description") || "").trim();
  const problem = !amount ? ["amount", "bad_amount"] : !description ? ["description", "need_description"] : null;
  if (problem) {
    views.showFormError(form, t(problem[1]));
    form.querySelector(`#${problem[0]}`).focus();
    return;
  }
  await queueSaving({ site, body: { client_uuid: newUuid(), site_id: site.id, amount_kzt: amount,
    category: data.get("category"), description } });
  afterFiling();
}

async function submitResubmission(inspection, form) {
  const photos = await prepare(form.querySelector("#photos").files, { resize: form.querySelector("#resize").checked });
  await queueResubmission({ inspection, notes: String(new FormData(form).get("reply") || "").trim(), photos });
  afterFiling();
}

async function afterFiling() {
  notify(t("saved"));
  location.hash = "#/outbox";
  const registration = await navigator.serviceWorker?.ready.catch(() => null);
  // Background Sync sends it even if the page is closed before the network returns.
  await registration?.sync?.register(SYNC_TAG).catch(() => null);
  if (navigator.onLine) sendNow(true);
}

async function sendNow(force) {
  try {
    await flushOutbox({ force });
    await pullChanges();
  } catch (error) {
    if (error instanceof ApiError && error.status === 426) notify(t("update_needed"));
    else if (error instanceof SignInNeeded) screenMessage = t("session_ended");
    else if (!(error instanceof Offline)) notify(t("error", { m: error.message }));
  }
  // Signed out meanwhile: to the sign-in, unless a form is being filled in (it is kept; filing it queues it).
  const signedOut = !(await getAuth())?.refresh_token && !["inspect", "saving", "returned"].includes(route().name);
  if (["outbox", "mine", "sites"].includes(route().name) || signedOut) render({ focus: false });
  scheduleRetry();
}

let retryTimer;

// What failed on a bad network is tried again at its backoff time while the app stays open (Background Sync,
// where the browser has it, also tries when the page is closed).
async function scheduleRetry() {
  clearTimeout(retryTimer);
  const auth = await getAuth();
  if (!auth?.refresh_token || auth.user?.must_change_password) return; // waits for the volunteer, not the network
  const due = (await outboxItems()).filter((item) => item.state === "waiting").map((item) => item.next_at || 0);
  if (due.length === 0) return;
  retryTimer = setTimeout(() => { if (navigator.onLine) sendNow(false); }, Math.max(1000, Math.min(...due) - Date.now()));
}

async function refreshData() {
  await sendNow(true);
  if ((await getAuth())?.refresh_token) screenMessage = t("synced");
  render();
}

async function togglePush() {
  try {
    if (await getValue("device_id")) await disablePush();
    else { await enablePush(); screenMessage = t("push_on"); }
  } catch (error) {
    screenMessage = t("push_unavailable");
  }
  render();
}

async function signOut() {
  const auth = await getAuth();
  await api("/auth/logout", { method: "POST" }).catch(() => null);
  await forgetAccount();
  if (auth) location.hash = "#/sites";
  render();
}

async function start() {
  const preferred = (navigator.language || "ru").slice(0, 2);
  const chosen = (await getValue("lang")) || (isSupported(preferred) ? preferred : "ru");
  setLanguage(chosen);
  await setValue("lang", chosen); // the server's messages (Accept-Language) follow it, also from the worker
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/", type: "module" }).catch(() => null);
  }
  window.addEventListener("hashchange", async () => {
    render();
    if (route().name === "inspect") locate(true); // each inspection with a fresh position
    // Looking at the outbox or my reports: the inspectors' latest decisions, when the network allows.
    if (["outbox", "mine"].includes(route().name) && navigator.onLine && (await getAuth())?.refresh_token) sendNow(false);
  });
  window.addEventListener("online", () => { renderChrome(); sendNow(true); });
  window.addEventListener("offline", () => { renderChrome(); if (route().name === "outbox") render({ focus: false }); });
  onOutboxChange(() => { if (["outbox", "mine"].includes(route().name)) render({ focus: false }); });
  await render({ focus: false });
  locate();
  if (navigator.onLine && (await getAuth())?.refresh_token) sendNow(true);
}

start();
