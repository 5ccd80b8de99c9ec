// The screens, built with DOM calls (no HTML strings: server data never becomes markup).
import { LANGUAGES, formatDistance, formatTime, language, t } from "./i18n.js";
import { POOR_ACCURACY_M, nearestFirst, onSite } from "./geo.js";
import { formatAmount } from "./money.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const field = (id, label, input, hint) => h("div", { class: "field" },
  h("label", { for: id, text: label }), input, hint && h("p", { class: "hint", id: `${id}-hint`, text: hint }));

export function signInView({ onSubmit, error }) {
  return [
    h("h1", { text: t("sign_in") }),
    h("form", { class: "stack", onsubmit: (event) => { event.preventDefault(); onSubmit(new FormData(event.target)); } },
      field("login", t("phone"), h("input", { id: "login", name: "login", type: "tel", autocomplete: "username",
        inputmode: "tel", required: true, placeholder: "+7 701 123 45 67" })),
      field("password", t("password"), h("input", { id: "password", name: "password", type: "password",
        autocomplete: "current-password", required: true })),
      error && h("p", { class: "alert", role: "alert", text: error }),
      h("button", { type: "submit", class: "primary", text: t("sign_in_button") })),
    languageSwitch(),
  ];
}

export function changePasswordView({ onSubmit }) {
  const passwordField = (id, autocomplete, extra = {}) => h("div", { class: "field" },
    h("label", { for: id, text: t(id) }),
    h("input", { id, name: id, type: "password", autocomplete, required: true, "aria-describedby": `${id}-error`, ...extra }),
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  return [
    h("h1", { text: t("change_password") }),
    h("p", { id: "change-password-why", text: t("change_password_why") }),
    // Checked by the server (length, common passwords, guessability): its 422 says what is wrong, in our language.
    h("form", { class: "stack", id: "password-form", novalidate: true,
      onsubmit: (event) => { event.preventDefault(); onSubmit(event.target); } },
      passwordField("current_password", "current-password"),
      passwordField("new_password", "new-password", { "aria-describedby": "new_password-error change-password-why" }),
      h("p", { class: "alert form-error", role: "alert", hidden: true }),
      h("button", { type: "submit", class: "primary", text: t("save") })),
    languageSwitch(),
  ];
}

// The server's messages for each field beside it (and read out), or one message for the whole form.
export function showFieldErrors(form, errors = {}, general = "") {
  for (const slot of form.querySelectorAll(".field-error")) {
    const name = slot.id.replace(/-error$/, "");
    const messages = errors[name] || [];
    slot.textContent = messages.join(" ");
    slot.hidden = messages.length === 0;
    form.querySelector(`#${name}`).setAttribute("aria-invalid", messages.length ? "true" : "false");
  }
  // Beside its field a message is read out with the field it describes (focused next); only what belongs to
  // no field of the form goes to the alert below.
  const unplaced = Object.entries(errors).filter(([name]) => !form.querySelector(`#${CSS.escape(name)}-error`))
    .flatMap(([, messages]) => messages).join(" ");
  showFormError(form, general || unplaced);
  form.querySelector("[aria-invalid=true]")?.focus();
}

function positionLine(position) {
  if (position === undefined) return h("p", { class: "muted", role: "status", text: t("locating") });
  if (position === null) return h("p", { class: "muted", role: "status", text: t("no_position") });
  return h("p", { class: "muted", role: "status", text: t("you_are_here", { acc: Math.round(position.accuracy_m) }) });
}

export function sitesView({ sites, position, onLocate }) {
  const ranked = nearestFirst(sites, position);
  return [
    h("h1", { text: t("sites_heading") }),
    positionLine(position),
    position === null && h("button", { type: "button", onclick: onLocate, text: t("update_position") }),
    ranked.length === 0 ? h("p", { text: t("no_sites") }) : h("ul", { class: "cards", "aria-label": t("sites_heading") },
      ranked.map(({ site, distance }) => h("li", { class: "card" },
        h("h2", { text: site.name }),
        h("p", { class: "muted" }, [site.address, t("geofence", { r: site.geofence_radius_m })].filter(Boolean).join(" · ")),
        distance != null && h("p", { class: "distance", text: t("away", { d: formatDistance(distance) }) }),
        h("div", { class: "actions" },
          h("a", { class: "button primary", href: `#/inspect/${site.id}`, text: t("inspect"),
            "aria-label": `${t("inspect")}: ${site.name}` }),
          h("a", { class: "button", href: `#/saving/${site.id}`, text: t("report_saving"),
            "aria-label": `${t("report_saving")}: ${site.name}` }))))),
  ];
}

const CHECKS = ["work_in_progress", "workers_present", "safety_violations", "quality_issues", "schedule_delay", "docs_on_site"];
const SEVERITIES = ["none", "low", "medium", "high", "critical"];

export function positionWarnings(site, position) {
  if (!position) return [{ level: "error", text: t("warn_no_position") }];
  const warnings = [];
  if (position.accuracy_m > POOR_ACCURACY_M) warnings.push({ level: "warn", text: t("warn_accuracy", { acc: Math.round(position.accuracy_m) }) });
  const { distance, inside } = onSite(site, position);
  if (!inside) warnings.push({ level: "warn", text: t("warn_outside", { d: formatDistance(distance), r: site.geofence_radius_m }) });
  return warnings;
}

function positionBlock(site, position, onLocate) {
  const line = position ? t("position_line", { acc: Math.round(position.accuracy_m),
    d: formatDistance(onSite(site, position).distance) }) : t(position === undefined ? "locating" : "warn_no_position");
  return h("fieldset", { id: "position-block" },
    h("legend", { text: t("position") }),
    h("p", { id: "position-line", role: "status", text: line }),
    h("div", { id: "position-warnings" }, positionWarnings(site, position).filter(() => position !== undefined)
      .map((warning) => h("p", { class: `alert ${warning.level}`, role: "alert", text: warning.text }))),
    h("button", { type: "button", onclick: onLocate, text: t("update_position") }));
}

function photoInput(onChange) {
  const count = h("p", { class: "muted", id: "photos-count", "aria-live": "polite" });
  return h("fieldset", {},
    h("legend", { text: t("photos") }),
    h("label", { class: "button file", for: "photos" }, t("take_photos")),
    h("input", { id: "photos", name: "photos", type: "file", accept: "image/*", capture: "environment", multiple: true,
      class: "visually-hidden", onchange: (event) => {
        count.textContent = t("photos_chosen", { n: event.target.files.length });
        onChange?.(event.target.files);
      } }),
    count,
    h("div", { class: "check" },
      h("input", { id: "resize", name: "resize", type: "checkbox" }),
      h("label", { for: "resize", text: t("resize") })));
}

export function inspectionFormView({ site, position, onLocate, onSubmit }) {
  return [
    h("a", { href: "#/sites", class: "back", text: `← ${t("back")}` }),
    h("h1", { text: t("form_heading", { site: site.name }) }),
    h("form", { class: "stack", id: "inspection-form", novalidate: true,
      onsubmit: (event) => { event.preventDefault(); onSubmit(event.target); } },
      h("fieldset", {},
        h("legend", { text: t("checklist") }),
        CHECKS.map((name) => h("div", { class: "check" },
          h("input", { id: name, name, type: "checkbox" }), h("label", { for: name, text: t(name) }))),
        field("progress_percent", t("progress"), h("input", { id: "progress_percent", name: "progress_percent",
          type: "number", min: "0", max: "100", step: "1", inputmode: "numeric" }))),
      h("fieldset", {},
        h("legend", { text: t("severity") }),
        h("div", { class: "segmented" }, SEVERITIES.map((level) => h("span", {},
          h("input", { id: `severity-${level}`, name: "severity", type: "radio", value: level, checked: level === "none" }),
          h("label", { for: `severity-${level}`, text: t(`severity_${level}`) }))))),
      field("notes", t("notes"), h("textarea", { id: "notes", name: "notes", rows: "3", maxlength: "4000" })),
      photoInput(),
      positionBlock(site, position, onLocate),
      h("button", { type: "submit", class: "primary", disabled: !position, text: t("submit") })),
  ];
}

const CATEGORIES = ["overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other"];

// A message about the form's input, said at once (role=alert) and kept beside the button.
export function showFormError(form, text) {
  const slot = form.querySelector(".form-error");
  slot.textContent = text;
  slot.hidden = !text;
}

export function savingFormView({ site, onSubmit }) {
  return [
    h("a", { href: "#/sites", class: "back", text: `← ${t("back")}` }),
    h("h1", { text: t("saving_heading", { site: site.name }) }),
    // Checked by the app (its messages in the app's language; spaces between thousands allowed), not the browser.
    h("form", { class: "stack", id: "saving-form", novalidate: true,
      onsubmit: (event) => { event.preventDefault(); onSubmit(event.target); } },
      field("amount", t("amount"), h("input", { id: "amount", name: "amount", inputmode: "decimal", required: true,
        autocomplete: "off", "aria-describedby": "amount-hint" }), t("amount_hint")),
      field("category", t("category"), h("select", { id: "category", name: "category" },
        CATEGORIES.map((name) => h("option", { value: name, text: t(`category_${name}`) })))),
      field("description", t("description"), h("textarea", { id: "description", name: "description", rows: "4",
        required: true, maxlength: "4000" })),
      h("p", { class: "alert form-error", role: "alert", hidden: true }),
      h("button", { type: "submit", class: "primary", text: t("submit") })),
  ];
}

// The state a volunteer sees: the outbox's own until the server has it, then the server's.
export function displayState(item, report) {
  if (item && item.state !== "sent") return item.state;
  const status = report?.status ?? item?.status;
  if (status === "submitted" && (report?.flagged ?? item?.flagged)) return "flagged";
  if (item && !report) return "sent";
  return status || "sent";
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state}`, text: t(`state_${state}`) });
}

export function outboxView({ items, reports, onSendNow, online }) {
  const byId = new Map(reports.map((report) => [`${report.kind}:${report.id}`, report]));
  return [
    h("h1", { text: t("outbox_heading") }),
    items.length === 0 ? h("p", { text: t("outbox_empty") }) : h("ul", { class: "cards", id: "outbox-list" },
      items.map((item) => {
        const kind = item.kind === "saving" ? "saving" : "inspection";
        const state = displayState(item, item.server_id ? byId.get(`${kind}:${item.server_id}`) : null);
        const sentPhotos = item.photos.filter((photo) => photo.state === "sent").length;
        return h("li", { class: "card", "data-uuid": item.client_uuid, "data-state": state },
          h("h2", {}, `${t(`kind_${item.kind}`)}: ${item.site_name || t("unknown_site")}`),
          h("p", {}, stateBadge(state), " ", h("span", { class: "muted when", text: formatTime(item.created_at) })),
          item.kind === "saving" && h("p", { class: "amount", text: formatAmount(item.body.amount_kzt, language()) }),
          item.photos.length > 0 && h("p", { class: "muted", text: t("photos_progress", { sent: sentPhotos, total: item.photos.length }) }),
          item.state === "waiting" && item.attempts > 0 && h("p", { class: "muted" },
            [t("attempts", { n: item.attempts }), item.next_at ? t("next_try", { time: formatTime(new Date(item.next_at).toISOString()) }) : ""].join(" · ")),
          item.error === "sign-in" && h("p", { class: "alert warn", text: t("sign_in_to_send") }),
          item.state === "refused" && item.error && h("p", { class: "alert", text: item.error }));
      })),
    items.some((item) => item.state === "waiting") && h("button", { type: "button", class: "primary", onclick: onSendNow,
      disabled: !online, text: t("send_now") }),
  ];
}

export function mineView({ reports, sites }) {
  const names = new Map(sites.map((site) => [site.id, site.name]));
  const sorted = [...reports].sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
  return [
    h("h1", { text: t("mine_heading") }),
    sorted.length === 0 ? h("p", { text: t("mine_empty") }) : h("ul", { class: "cards", id: "mine-list" },
      sorted.map((report) => {
        const state = displayState(null, report);
        return h("li", { class: "card", "data-id": report.id, "data-state": state },
          h("h2", {}, `${t(`kind_${report.kind}`)}: ${names.get(report.site_id) || t("unknown_site")}`),
          report.amount_kzt && h("p", { class: "amount", text: formatAmount(report.amount_kzt, language()) }),
          h("p", {}, stateBadge(state), " ", h("span", { class: "muted when", text: formatTime(report.updated_at) })),
          report.review_comment && h("p", { class: "comment", text: t("inspector_comment", { c: report.review_comment }) }),
          report.kind === "inspection" && report.status === "returned" && h("a", { class: "button primary",
            href: `#/returned/${report.id}`, text: t("open_returned") }));
      })),
  ];
}

export function returnedView({ inspection, siteName, onSubmit }) {
  return [
    h("a", { href: "#/mine", class: "back", text: `← ${t("back")}` }),
    h("h1", { text: t("resubmit_heading", { site: siteName || t("unknown_site") }) }),
    inspection.review_comment && h("p", { class: "comment", text: t("inspector_comment", { c: inspection.review_comment }) }),
    h("form", { class: "stack", id: "resubmit-form", onsubmit: (event) => { event.preventDefault(); onSubmit(event.target); } },
      photoInput(),
      field("reply", t("reply"), h("textarea", { id: "reply", name: "reply", rows: "3", maxlength: "4000" })),
      h("button", { type: "submit", class: "primary", text: t("resubmit") })),
  ];
}

export function languageSwitch() {
  return h("div", { class: "field" },
    h("label", { for: "language", text: t("language") }),
    h("select", { id: "language", name: "language" },
      Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, lang: code, selected: code === language(),
        text: name }))));
}

export function moreView({ user, pushState, onPush, onSignOut, onRefresh, message }) {
  return [
    h("h1", { text: t("more_heading") }),
    user && h("p", { text: t("signed_in_as", { name: user.full_name }) }),
    languageSwitch(),
    h("h2", { text: t("notifications") }),
    pushState === "unsupported" ? h("p", { class: "muted", text: t("push_unavailable") })
      : h("button", { type: "button", onclick: onPush, text: t(pushState === "on" ? "disable_push" : "enable_push") }),
    h("h2", { text: t("refresh_data") }),
    h("button", { type: "button", onclick: onRefresh, text: t("refresh_data") }),
    message && h("p", { role: "status", text: message }),
    h("button", { type: "button", class: "danger", onclick: onSignOut, text: t("sign_out") }),
  ];
}
