// The API as a phone uses it: bearer tokens refreshed when they expire (the refresh token rotates),
// the app's platform and version on every call, messages in the chosen language.
import { getAuth, getValue, setAuth } from "./db.js";

export const API = "/api/v1";
export const APP_VERSION = "1.0.0";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  // Worth trying again later: the server or the network, not the request itself.
  get transient() {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

// The network is down or the server unreachable: fetch rejects before any answer.
export class Offline extends Error {}

export class SignInNeeded extends Error {}

async function headers(token) {
  const result = { "X-Client-Platform": "web", "X-Client-Version": APP_VERSION,
    "Accept-Language": await getValue("lang", "ru") };
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

async function send(path, { method = "GET", json, form, token }) {
  const init = { method, headers: await headers(token), cache: "no-store" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  try {
    return await fetch(API + path, init);
  } catch (error) {
    throw new Offline(String(error));
  }
}

async function answer(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// One refresh at a time across the page and the service worker: a rotated refresh token works once.
async function refreshTokens(staleAccess) {
  const run = async () => {
    const auth = await getAuth();
    if (!auth?.refresh_token) throw new SignInNeeded();
    if (auth.access_token !== staleAccess) return auth.access_token; // another tab or the worker already did
    const response = await send("/auth/refresh", { method: "POST", token: auth.refresh_token });
    if (response.status === 401) {
      await setAuth({ ...auth, access_token: null, refresh_token: null });
      throw new SignInNeeded();
    }
    const tokens = await answer(response);
    await setAuth({ ...auth, ...tokens, user: tokens.user || auth.user });
    return tokens.access_token;
  };
  return navigator.locks ? navigator.locks.request("vm-token-refresh", run) : run();
}

export async function api(path, { method = "GET", json, form, anonymous = false } = {}) {
  if (anonymous) return answer(await send(path, { method, json, form }));
  const auth = await getAuth();
  if (!auth?.access_token && !auth?.refresh_token) throw new SignInNeeded();
  let token = auth.access_token;
  let response = token ? await send(path, { method, json, form, token }) : null;
  if (!response || response.status === 401) {
    token = await refreshTokens(token);
    response = await send(path, { method, json, form, token });
    // A fresh token refused at once: the session ended meanwhile (signed out elsewhere, deactivated).
    if (response.status === 401) {
      await setAuth({ ...(await getAuth()), access_token: null, refresh_token: null });
      throw new SignInNeeded();
    }
  }
  return answer(response);
}

export async function signIn(login, password) {
  const tokens = await api("/auth/login", { method: "POST", json: { login, password }, anonymous: true });
  await setAuth(tokens);
  return tokens;
}

export function newUuid() {
  return crypto.randomUUID();
}
