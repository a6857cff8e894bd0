// Page forms, progressively enhanced: a Show/Hide button beside every password field.
// Without JavaScript the fields work as they are; nothing here is needed to submit.

function addToggle(input) {
  const focused = document.activeElement === input || input.autofocus;
  const wrapper = document.createElement("div");
  wrapper.className = "password-field";
  input.replaceWith(wrapper);
  wrapper.append(input);
  if (focused) input.focus();  // moving the field must not lose the server-side autofocus

  const label = document.querySelector(`label[for="${input.id}"]`)?.textContent.trim() || "password";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "password-toggle";
  button.setAttribute("aria-controls", input.id);
  const verb = document.createElement("span");
  const what = document.createElement("span");
  what.className = "visually-hidden";  // the name says which field; only the verb shows
  what.textContent = ` ${label.toLowerCase()}`;
  button.append(verb, what);
  const show = (visible) => {
    input.type = visible ? "text" : "password";
    verb.textContent = visible ? "Hide" : "Show";
  };
  button.addEventListener("click", () => {
    show(input.type === "password");
    input.focus();
  });
  input.form?.addEventListener("submit", () => show(false));  // never submit as plain text
  show(false);
  wrapper.append(button);
}

for (const input of document.querySelectorAll('input[type="password"][id]')) addToggle(input);
