// The /app demo page: wires the AuthClient to the page's elements.
import { AuthClient, passkeysSupported } from "./auth-client.js";

const root = document.getElementById("app");
const $ = (selector) => root.querySelector(selector);
const views = root.querySelectorAll("[data-view]");

const client = new AuthClient({
  csrfCookieName: root.dataset.csrfCookie,
  onChange: render,
  onEvent: log,
});

function show(name) {
  for (const view of views) view.hidden = view.dataset.view !== name;
}

// The site header was rendered by the server; keep it telling the truth as the client
// signs in and out.
function renderHeader(user) {
  for (const item of document.querySelectorAll("[data-signed-in]")) item.hidden = !user;
  for (const item of document.querySelectorAll("[data-signed-out]")) item.hidden = Boolean(user);
  const name = document.querySelector("[data-header-username]");
  if (name) name.textContent = user ? user.username : "";
}

function render() {
  const user = client.signedIn ? client.user : null;
  renderHeader(user);
  if (user) {
    $("#js-username-display").textContent = client.user.username;
    show("signed-in");
  } else {
    $("#js-session-list").replaceChildren();
    show("signed-out");
  }
}

function log(message) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${message}`;
  $("#js-log").prepend(item);
}

function showError(message) {
  const error = $("#js-login-error");
  error.textContent = message;
  error.hidden = !message;
}

let mfaToken = null;

$("#js-login").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const form = event.currentTarget;
  try {
    await client.login(form.username.value, form.password.value);
    form.reset();
  } catch (error) {
    if (error.code !== "mfa_required") return showError(error.message);
    form.reset();
    mfaToken = error.mfaToken;
    log("Password accepted; the account asks for a second factor.");
    askForCode(false);
  }
});

// A passkey needs no username or password; the server answers as it does for a login.
if (passkeysSupported()) {
  $("#js-passkey").hidden = false;
  $("#js-passkey-button").addEventListener("click", async () => {
    showError("");
    try {
      await client.signInWithPasskey();
      $("#js-login").reset();
    } catch (error) {
      showError(error.name === "NotAllowedError"
        ? "The passkey request was cancelled or timed out." : error.message);
    }
  });
}

// The second step: a code from the authenticator app, or a recovery code.
function askForCode(recovery) {
  const form = $("#js-mfa");
  form.dataset.method = recovery ? "recovery_code" : "code";
  $("#js-mfa-label").textContent = recovery ? "Recovery code" : "Code from your authenticator app";
  $("#js-mfa-code").autocomplete = recovery ? "off" : "one-time-code";
  $("#js-mfa-code").inputMode = recovery ? "text" : "numeric";
  $("#js-mfa-switch").textContent = recovery ? "Use your authenticator app instead"
                                             : "Use a recovery code";
  $("#js-mfa-error").hidden = true;
  show("mfa");
  $("#js-mfa-code").focus();
}

$("#js-mfa-switch").addEventListener("click", () => {
  askForCode($("#js-mfa").dataset.method === "code");
});

$("#js-mfa-cancel").addEventListener("click", () => {
  mfaToken = null;
  render();
});

$("#js-mfa").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $("#js-mfa-error");
  try {
    await client.finishSignIn(mfaToken, { [form.dataset.method]: form.code.value });
    mfaToken = null;
    form.reset();
  } catch (problem) {
    form.code.value = "";
    error.textContent = problem.message;
    error.hidden = false;
    form.code.focus();
  }
});

$("#js-me").addEventListener("click", async () => {
  const response = await client.fetch("/api/me");
  if (response.ok) {
    const me = await response.json();
    log(`/api/me → ${me.username} (id ${me.id})`);
  } else {
    log(`/api/me → ${response.status}`);
  }
});

$("#js-sessions").addEventListener("click", async () => {
  const response = await client.fetch("/api/sessions");
  if (!response.ok) return log(`/api/sessions → ${response.status}`);
  const { sessions } = await response.json();
  const items = sessions.map((session) => {
    const item = document.createElement("li");
    item.className = "session";
    const text = document.createElement("p");
    text.textContent = `${session.device} · IP ${session.ip || "unknown"}` +
      (session.current ? " · this device" : "");
    item.append(text);
    return item;
  });
  $("#js-session-list").replaceChildren(...items);
  log(`${sessions.length} live session(s).`);
});

$("#js-renew").addEventListener("click", async () => {
  try {
    await client.renew();  // logs "Access token renewed through the refresh cookie."
  } catch (error) {
    log(`Renewal refused: ${error.message}`);
  }
});

$("#js-logout").addEventListener("click", () => client.logout());

show("loading");
client.restore().then((restored) => {
  if (!restored) render();
});
