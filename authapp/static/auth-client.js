// A small client for authapp's JSON API.
//
// Signing in to an account with two-factor sign-in takes two calls: login() throws an
// ApiError with code "mfa_required" and an mfaToken, and finishSignIn() sends it with a code.
// The access token lives only in this module's memory (never localStorage).
// On a 401 token_expired the client renews once through the HttpOnly refresh
// cookie and retries. Concurrent 401s share one renewal (single-flight), and
// renewals are serialised across tabs with the Web Locks API (falling back to a
// BroadcastChannel announcement) so two tabs never race a rotation.
// signInWithPasskey() signs in with a passkey (no username); check passkeysSupported() first.
import { usePasskey } from "./webauthn-json.js";

export { passkeysSupported } from "./webauthn-json.js";

const LOCK_NAME = "authapp-refresh";
const CHANNEL_NAME = "authapp-auth";
const FALLBACK_WAIT_MS = 250;

export class AuthClient {
  constructor({ csrfCookieName = "csrf_refresh_token", onChange = () => {}, onEvent = () => {} } = {}) {
    this.csrfCookieName = csrfCookieName;
    this.onChange = onChange;
    this.onEvent = onEvent;
    this.accessToken = null;
    this.user = null;
    this.pendingRenewal = null;
    this.channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL_NAME) : null;
    this.channel?.addEventListener("message", (event) => this.#onMessage(event.data));
  }

  get signedIn() {
    return this.accessToken !== null;
  }

  hasRefreshCookie() {
    return this.#csrfToken() !== "";
  }

  // Throws an ApiError; for an account with two-factor sign-in its code is "mfa_required"
  // and it carries mfaToken and mfaMethods for finishSignIn().
  async login(username, password) {
    return this.#signIn("/api/auth/login", { username, password });
  }

  // The second step: factor is { code } (TOTP) or { recovery_code }.
  async finishSignIn(mfaToken, factor) {
    return this.#signIn("/api/auth/mfa", { mfa_token: mfaToken, ...factor });
  }

  // The WebAuthn ceremony through /api/auth/passkey/options and /api/auth/passkey, then
  // signed in as after login(). The browser's NotAllowedError (cancelled, timed out) is thrown.
  async signInWithPasskey() {
    const ceremony = await this.#post("/api/auth/passkey/options", {});
    const credential = await usePasskey(ceremony.options);
    return this.#signIn("/api/auth/passkey", { challenge_id: ceremony.challenge_id, credential });
  }

  async #post(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(body);
    return body;
  }

  async #signIn(path, payload) {
    const body = await this.#post(path, payload);
    this.#adopt(body.access_token, body.user);
    this.onEvent("Signed in; the access token is held in memory only.");
    return body.user;
  }

  // Restore a session from the refresh cookie, if there is one.
  async restore() {
    if (!this.hasRefreshCookie()) return false;
    try {
      await this.renew();
      const response = await this.fetch("/api/me");
      if (!response.ok) return false;
      this.user = await response.json();
      this.onChange();
      this.onEvent("Session restored from the refresh cookie.");
      return true;
    } catch (error) {
      return false;
    }
  }

  async logout() {
    try {
      await this.fetch("/api/auth/logout", { method: "POST" });
    } finally {
      this.#forget();
      this.channel?.postMessage({ type: "logout" });
      this.onEvent("Signed out.");
    }
  }

  // fetch() with the access token; renews once on 401 token_expired and retries.
  async fetch(path, options = {}) {
    const response = await this.#send(path, options);
    if (response.status !== 401 || this.accessToken === null) return response;
    const problem = await response.clone().json().catch(() => ({}));
    if (problem.code !== "token_expired") {
      this.#forget();
      this.onEvent("The session has ended; please sign in again.");
      return response;
    }
    try {
      await this.renew();
    } catch (error) {
      this.onEvent("The session could not be renewed; please sign in again.");
      return response;
    }
    return this.#send(path, options);
  }

  // Single-flight: every caller during a renewal awaits the same promise.
  renew() {
    if (!this.pendingRenewal) {
      this.pendingRenewal = this.#renewAcrossTabs().finally(() => {
        this.pendingRenewal = null;
      });
    }
    return this.pendingRenewal;
  }

  async #renewAcrossTabs() {
    if (navigator.locks) {
      return navigator.locks.request(LOCK_NAME, () => this.#refresh());
    }
    // No Web Locks: give a tab that is already renewing the chance to share its result.
    const shared = await this.#waitForAnnouncement(FALLBACK_WAIT_MS);
    if (shared) return shared;
    this.channel?.postMessage({ type: "renewing" });
    return this.#refresh();
  }

  async #refresh() {
    const response = await fetch("/api/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-TOKEN": this.#csrfToken() },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      this.#forget();
      throw new ApiError(body);
    }
    this.accessToken = body.access_token;
    this.channel?.postMessage({ type: "renewed", accessToken: body.access_token });
    this.onEvent("Access token renewed through the refresh cookie.");
    return body.access_token;
  }

  #waitForAnnouncement(ms) {
    if (!this.channel) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), ms);
      const listener = (event) => {
        if (event.data?.type === "renewed") done(event.data.accessToken);
      };
      const done = (token) => {
        clearTimeout(timer);
        this.channel.removeEventListener("message", listener);
        if (token) this.accessToken = token;
        resolve(token);
      };
      this.channel.addEventListener("message", listener);
    });
  }

  #onMessage(message) {
    if (message?.type === "logout" && this.signedIn) {
      this.#forget();
      this.onEvent("Signed out in another tab.");
    }
  }

  #send(path, options) {
    const headers = new Headers(options.headers || {});
    if (this.accessToken) headers.set("Authorization", `Bearer ${this.accessToken}`);
    return fetch(path, { ...options, headers, credentials: "same-origin" });
  }

  #adopt(accessToken, user) {
    this.accessToken = accessToken;
    this.user = user;
    this.onChange();
  }

  #forget() {
    this.accessToken = null;
    this.user = null;
    this.onChange();
  }

  #csrfToken() {
    const prefix = `${this.csrfCookieName}=`;
    const cookie = document.cookie.split("; ").find((part) => part.startsWith(prefix));
    return cookie ? decodeURIComponent(cookie.slice(prefix.length)) : "";
  }
}

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "Request failed");
    this.code = problem.code;
    this.errors = problem.errors || {};
    this.mfaToken = problem.mfa_token || null;
    this.mfaMethods = problem.mfa_methods || [];
  }
}
