// camops console: live tiles on the wall (server-sent events) and the camera page's day browser.
// Plain JavaScript, no build step. The server renders every tile; this file only places them.
"use strict";

function ago(seconds) {
  if (seconds < 60) return Math.max(0, Math.round(seconds)) + "s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m ago";
  return Math.floor(seconds / 3600) + "h ago";
}

function refreshAges(root) {
  const now = Date.now() / 1000;
  for (const tile of root.querySelectorAll(".tile[data-last]")) {
    const last = parseFloat(tile.dataset.last);
    const age = tile.querySelector(".age");
    if (age && !isNaN(last)) age.textContent = ago(now - last);
  }
}

function place(wall, tile) {
  const order = Number(tile.dataset.order);
  const key = tile.dataset.key;
  for (const other of wall.children) {
    if (other === tile) continue;
    const o = Number(other.dataset.order);
    if (o > order || (o === order && other.dataset.key > key)) {
      wall.insertBefore(tile, other);
      return;
    }
  }
  wall.appendChild(tile);
}

function recount(wall) {
  // the summary beside the filters, from the tiles on the page (they change live)
  const count = document.getElementById("count");
  const tiles = wall.querySelectorAll(".tile");
  const states = {};
  for (const tile of tiles) {
    const state = ["broken", "pending", "paused", "ok"].find((s) => tile.classList.contains(s)) || "ok";
    states[state] = (states[state] || 0) + 1;
  }
  const parts = ["broken", "pending", "paused", "ok"].filter((s) => states[s]).map((s) => `${states[s]} ${s}`);
  count.textContent = `${tiles.length} of ${count.dataset.total} cameras` + (parts.length ? ": " + parts.join(", ") : "");
}

function startWall() {
  const wall = document.getElementById("wall");
  const live = document.getElementById("live");
  const source = new EventSource(document.body.dataset.events);
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = "live off"; });
  source.addEventListener("reset", () => window.location.reload());
  source.addEventListener("tile", (event) => {
    const data = JSON.parse(event.data);
    const holder = document.createElement("template");
    holder.innerHTML = data.html;
    const fresh = holder.content.firstElementChild;
    const old = wall.querySelector(`[data-key="${CSS.escape(data.key)}"]`);
    if (old) {
      const sameOrder = old.dataset.order === fresh.dataset.order;
      old.replaceWith(fresh);
      if (!sameOrder) place(wall, fresh);
    } else {
      place(wall, fresh);
    }
    refreshAges(fresh.parentNode || wall);
    recount(wall);
    window.camopsUpdates = (window.camopsUpdates || 0) + 1;
  });
  source.addEventListener("remove", (event) => {
    const data = JSON.parse(event.data);
    const old = wall.querySelector(`[data-key="${CSS.escape(data.key)}"]`);
    if (old) old.remove();
    recount(wall);
  });
  window.camopsSource = source;
  refreshAges(wall);
  setInterval(() => refreshAges(wall), 1000);
}

function secondsOfDay(iso) {
  const t = new Date(iso);
  return t.getUTCHours() * 3600 + t.getUTCMinutes() * 60 + t.getUTCSeconds() + t.getUTCMilliseconds() / 1000;
}

function clock(seconds) {
  const s = Math.floor(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function startBrowser() {
  const browser = document.getElementById("browser");
  if (!browser) return;
  const base = browser.dataset.base;
  const day = document.getElementById("day");
  const slider = document.getElementById("slider");
  const picture = document.getElementById("picture");
  const shownAt = document.getElementById("shown-at");
  const analysis = document.getElementById("analysis");
  const jump = document.getElementById("jump");
  const player = document.getElementById("player");
  const segments = document.getElementById("segments");
  let snaps = [];
  let times = [];
  let index = -1;

  function show(i) {
    if (!snaps.length) { picture.removeAttribute("src"); shownAt.textContent = "no snapshots this day"; return; }
    index = Math.max(0, Math.min(snaps.length - 1, i));
    const snap = snaps[index];
    picture.src = `${base}/objects/${snap.key}`;
    shownAt.textContent = `${snap.at} (${index + 1} of ${snaps.length})`;
    window.camopsShown = snap;
    analysis.textContent = "";
    if (snap.analysis) {
      fetch(`${base}/objects/${snap.analysis}`).then((r) => r.ok ? r.json() : null).then((json) => {
        if (json && window.camopsShown === snap) analysis.textContent = JSON.stringify(json, null, 2);
      });
    }
  }

  function at(seconds) {
    // the snapshot taken at the chosen time: the newest one at or before it (else the first)
    let lo = 0, hi = times.length - 1, found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= seconds + 0.0005) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function choose(seconds) {
    slider.value = String(Math.floor(seconds));
    show(at(seconds));
  }

  function load() {
    fetch(`${base}/days/${day.value}.json`).then((r) => r.json()).then((items) => {
      snaps = items.snapshots;
      times = snaps.map((s) => secondsOfDay(s.at));
      if (times.length) {
        slider.min = String(Math.floor(times[0]));
        slider.max = String(Math.ceil(times[times.length - 1]));
      }
      segments.innerHTML = "";
      for (const seg of items.segments) {
        const li = document.createElement("li");
        const play = document.createElement("button");
        play.type = "button";
        play.textContent = `▶ ${seg.at}`;
        play.addEventListener("click", () => { player.src = `${base}/objects/${seg.key}`; player.play(); });
        const download = document.createElement("a");
        download.href = `${base}/objects/${seg.key}`;
        download.download = seg.key.split("/").pop();
        download.textContent = `download (${Math.round(seg.size / 1024)} KB)`;
        li.append(play, " ", download);
        segments.appendChild(li);
      }
      window.camopsDay = items;
      show(snaps.length - 1);
      if (times.length) slider.value = String(Math.floor(times[index]));
    });
  }

  slider.addEventListener("input", () => show(at(Number(slider.value))));
  document.getElementById("prev").addEventListener("click", () => { show(index - 1); slider.value = String(Math.floor(times[index] || 0)); });
  document.getElementById("next").addEventListener("click", () => { show(index + 1); slider.value = String(Math.floor(times[index] || 0)); });
  jump.addEventListener("change", () => {
    const [h, m, s] = jump.value.split(":").map(Number);
    choose(h * 3600 + m * 60 + (s || 0));
  });
  day.addEventListener("change", load);
  window.camopsChoose = choose;
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.getElementById("wall")) startWall();
  startBrowser();
});
