// /account/security: a Copy button for the recovery codes. Without JavaScript the codes can
// still be selected or downloaded, so the button stays hidden until it can work.

for (const button of document.querySelectorAll("[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const codes = [...source.querySelectorAll("code")].map((code) => code.textContent.trim());
    try {
      await navigator.clipboard.writeText(codes.join("\n") + "\n");
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed: select the codes instead";
    }
  });
}
