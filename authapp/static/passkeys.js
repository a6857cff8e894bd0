// Passkeys on the pages: "Sign in with a passkey" on /login, the passkey as the second step
// on /login/verify, and the list on /account/security. Each part stays hidden unless the
// browser has WebAuthn, so the pages work as before without it.
import { createPasskey, passkeysSupported, postJSON, usePasskey } from "./webauthn-json.js";

const $ = (selector) => document.querySelector(selector);

function showError(element, error) {
  element.textContent = error?.name === "NotAllowedError"
    ? "The passkey request was cancelled or timed out."
    : error?.message || "Something went wrong.";
  element.hidden = false;
}

function csrfHeader(cookieName) {
  const prefix = `${cookieName}=`;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return { "X-CSRF-TOKEN": cookie ? decodeURIComponent(cookie.slice(prefix.length)) : "" };
}

function signInPage(box) {
  box.hidden = false;
  $("#passkey-sign-in-button").addEventListener("click", async () => {
    const error = $("#passkey-sign-in-error");
    error.hidden = true;
    try {
      const ceremony = await postJSON("/api/auth/passkey/options");
      const credential = await usePasskey(ceremony.options);
      await postJSON("/api/auth/passkey", { challenge_id: ceremony.challenge_id, credential });
      window.location.assign(box.dataset.next);
    } catch (failure) {
      showError(error, failure);
    }
  });
}

async function verifyPage(form) {
  const csrf = { "X-CSRFToken": form.elements.csrf_token.value };
  let ceremony;
  try {
    ceremony = await postJSON(form.dataset.options, {}, csrf);
  } catch {
    return; // no passkey on this account, or the sign-in is over: the codes remain
  }
  form.hidden = false;
  $("#passkey-verify-button").addEventListener("click", async () => {
    try {
      const credential = await usePasskey(ceremony.options);
      form.elements.challenge_id.value = ceremony.challenge_id;
      form.elements.credential.value = JSON.stringify(credential);
      form.submit();
    } catch (failure) {
      showError($("#passkey-verify-error"), failure);
    }
  });
}

function securityPage(section) {
  const headers = csrfHeader(section.dataset.csrfCookie);
  const list = $("#passkey-list");
  const error = $("#passkeys-error");

  const call = async (method, path, payload) => {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...headers },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (body.code === "reauthentication_required") window.location.assign(section.dataset.confirm);
    if (!response.ok) throw Object.assign(new Error(body.detail || "Request failed"), body);
    return body;
  };

  const row = (passkey) => {
    const item = document.createElement("li");
    item.className = "passkey";
    item.dataset.passkeyId = passkey.id;
    const form = document.createElement("form");
    const input = Object.assign(document.createElement("input"), {
      type: "text", value: passkey.name, maxLength: 64, name: "name",
    });
    input.setAttribute("aria-label", "Passkey name");
    const save = Object.assign(document.createElement("button"), {
      type: "submit", className: "button button-secondary", textContent: "Rename",
    });
    const remove = Object.assign(document.createElement("button"), {
      type: "button", className: "button button-danger", textContent: "Remove",
    });
    const used = document.createElement("p");
    used.className = "muted";
    used.textContent = `Added ${new Date(passkey.created_at).toLocaleString()}` +
      (passkey.last_used_at ? `; last used ${new Date(passkey.last_used_at).toLocaleString()}` : "");
    form.append(input, save, remove);
    item.append(form, used);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(() => call("PATCH", `/api/account/passkeys/${passkey.id}`, { name: input.value }));
    });
    remove.addEventListener("click", () => {
      run(() => call("DELETE", `/api/account/passkeys/${passkey.id}`));
    });
    return item;
  };

  const refresh = async () => {
    const { passkeys } = await call("GET", "/api/account/passkeys");
    list.replaceChildren(...passkeys.map(row));
    list.hidden = false;
    $("#passkeys-count").textContent =
      `You have ${passkeys.length} passkey${passkeys.length === 1 ? "" : "s"}.`;
  };

  const run = async (action) => {
    error.hidden = true;
    try {
      await action();
      await refresh();
    } catch (failure) {
      showError(error, failure);
    }
  };

  $("#passkeys-unsupported").hidden = true;
  $("#passkey-add").hidden = false;
  $("#passkey-add-button").addEventListener("click", () => run(async () => {
    const ceremony = await call("POST", "/api/account/passkeys/options");
    const credential = await createPasskey(ceremony.options);
    const name = $("#passkey-name").value.trim() || undefined;
    await call("POST", "/api/account/passkeys",
               { challenge_id: ceremony.challenge_id, credential, name });
    $("#passkey-name").value = "";
  }));
  run(async () => {});
}

if (passkeysSupported()) {
  const signIn = $("#passkey-sign-in");
  const verify = $("#passkey-verify");
  const security = $("#passkeys");
  if (signIn) signInPage(signIn);
  if (verify) verifyPage(verify);
  if (security) securityPage(security);
}
