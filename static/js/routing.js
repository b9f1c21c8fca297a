// Proposals page: a service listed twice (in a note and among the alternatives) is one choice, so
// ticking or unticking one of its boxes does the same to the others. Without JavaScript a service
// is sent when any of its boxes is ticked (the server keeps each service once).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || box.name !== "services") return;
  if (!box.form || !box.form.classList.contains("routing-form")) return;
  const twins = box.form.querySelectorAll(`input[type=checkbox][name=services][value="${CSS.escape(box.value)}"]`);
  for (const twin of twins) twin.checked = box.checked;
});

// Confirm page: the send button says how many services are ticked ("Envoyer 2 orientations").
document.addEventListener("change", (event) => {
  const form = event.target instanceof HTMLInputElement && event.target.form;
  if (!form || !form.classList.contains("refer-form")) return;
  const button = form.querySelector("[data-count-label]");
  const count = form.querySelectorAll("input[type=checkbox][name=services]:checked").length;
  if (button) button.textContent = `Envoyer ${count} orientation${count > 1 ? "s" : ""}`;
});
