// The sign-in form: posts JSON, then goes where the user was headed.
const form = document.getElementById("login");
const error = document.getElementById("error");
const catalogue = JSON.parse(document.getElementById("i18n").textContent);
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const res = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
    body: JSON.stringify({ username: form.username.value, password: form.password.value }),
  });
  if (res.ok) {
    // the server vetted ?next= (api/routes/pages.py safe_next): a path on this site, or "/"
    location.href = form.dataset.next || "/";
    return;
  }
  error.textContent = res.status === 429 ? catalogue["login.throttled"] : catalogue["login.failed"];
});
document.getElementById("lang").addEventListener("change", (ev) => {
  document.cookie = `vigil_lang=${ev.target.value}; path=/; max-age=31536000; samesite=lax`;
  location.reload();
});
