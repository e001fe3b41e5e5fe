// Countersign status pages: local times on hover, a copy button, and a
// live refresh of the page's #live part that keeps the reader's filters
// (they are in the address) and whatever they are typing (outside #live).
// Without JavaScript the pages work the same, only without refreshing.
"use strict";

function localTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.title = "Your time: " + d.toLocaleString();
  }
}

function copyButtons(root) {
  for (const b of root.querySelectorAll("button.copy[data-copy]")) {
    const src = document.getElementById(b.dataset.copy);
    if (!src || !navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener("click", () => {
      navigator.clipboard.writeText(src.textContent.trim()).then(
        () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 1500); },
        () => { b.textContent = "Copy failed"; });
    });
  }
}

async function refresh() {
  const live = document.getElementById("live");
  if (!live || document.visibilityState !== "visible") return;
  // Keep the reader's open details (record detail JSON) open.
  const open = new Set();
  live.querySelectorAll("details[open]").forEach((d, i) => open.add(i));
  let res;
  try {
    res = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
  } catch (e) {
    note("could not refresh: the bot did not answer");
    return;
  }
  if (res.redirected && new URL(res.url).pathname === "/login") {
    note("signed out: reload the page to sign in again");
    stop();
    return;
  }
  if (!res.ok) {
    note("could not refresh: the bot answered " + res.status);
    return;
  }
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.getElementById("live");
  if (!fresh) return;
  fresh.querySelectorAll("details").forEach((d, i) => { if (open.has(i)) d.open = true; });
  live.replaceWith(fresh);
  localTimes(fresh);
  copyButtons(fresh);
  const stamp = doc.getElementById("refreshed");
  const mine = document.getElementById("refreshed");
  if (stamp && mine) { mine.replaceWith(stamp); localTimes(stamp); }
}

function note(text) {
  const mine = document.getElementById("refreshed");
  if (mine) mine.textContent = text;
}

let timer = null;
function stop() { if (timer) clearInterval(timer); timer = null; }

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  copyButtons(document);
  const every = parseInt(document.body.dataset.refresh || "0", 10);
  if (every > 0) timer = setInterval(refresh, every * 1000);
});
