"""Server-rendered HTML of the console: the wall, one tile, the camera page, the sign-in page.

Pure string building (no I/O, ``now`` passed in); every value is escaped. The page's
behaviour (live updates, the time slider) lives in ``static/console.js``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

from camops_operator.console.fleet import CameraRecord, Outage
from camops_operator.console.tiles import Health, Tile
from camops_operator.local.status import ago

__all__ = ["Filters", "camera_page", "camera_url", "login_page", "render_tile", "wall_page"]

_ORDER = {Health.BROKEN: 0, Health.PENDING: 1, Health.PAUSED: 2, Health.OK: 3}


class Filters:
    """The wall's filters from the query string (namespace, label ``k`` or ``k=v``, state, name search)."""

    def __init__(self, namespace: str = "", label: str = "", state: str = "", search: str = "") -> None:
        self.namespace = namespace.strip()
        self.label = label.strip()
        self.state = state.strip() if state.strip() in {h.value for h in Health} else ""
        self.search = search.strip()

    def as_kwargs(self) -> dict[str, str]:
        return {"namespace": self.namespace, "label": self.label, "state": self.state, "search": self.search}

    def query(self) -> str:
        pairs = {"namespace": self.namespace, "label": self.label, "state": self.state, "q": self.search}
        return urlencode({k: v for k, v in pairs.items() if v})


def camera_url(namespace: str, name: str, rest: str = "") -> str:
    return f"/cameras/{quote(namespace, safe='')}/{quote(name, safe='')}{rest}"


def _head(title: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/console.css"><script defer src="/static/console.js"></script></head>'
    )


def render_tile(tile: Tile, now: datetime) -> str:
    """One tile: its newest thumbnail (lazy), name, namespace, labels, phase and picture badges, age, queue."""
    url = camera_url(tile.namespace, tile.name)
    last = tile.last_snapshot_at
    stamp = f"{last.timestamp():.3f}" if last else ""
    if last is not None:
        picture = (
            f'<img loading="lazy" decoding="async" width="320" height="180" alt="" '
            f'src="{escape(url)}/thumb.jpg?v={stamp}">'
        )
    else:
        picture = '<div class="nopic">no picture yet</div>'
    labels = " ".join(f"{k}={v}" for k, v in sorted(tile.labels.items()))
    badges = f'<span class="badge phase">{escape(tile.phase)}</span>'
    if tile.picture:
        badges += f'<span class="badge pic pic-{escape(tile.picture.lower())}">{escape(tile.picture)}</span>'
    queue = f'<span class="queue">queue {tile.queue_depth}</span>' if tile.queue_depth else ""
    message = f'<div class="msg">{escape(tile.message)}</div>' if tile.message else ""
    return (
        f'<a class="tile {tile.health.value}" href="{escape(url)}" data-key="{escape(tile.key)}" '
        f'data-order="{_ORDER[tile.health]}" data-last="{stamp}">{picture}'
        f'<div class="meta"><b class="name">{escape(tile.name)}</b> <span class="ns">{escape(tile.namespace)}</span>'
        f" {badges}"
        f'<div class="sub"><span class="age">{escape(ago(last, now))}</span> {queue}'
        f' <span class="labels">{escape(labels)}</span></div>{message}</div></a>'
    )


def _select(name: str, current: str, options: Sequence[str], blank: str) -> str:
    opts = [f'<option value="">{escape(blank)}</option>']
    for value in options:
        chosen = " selected" if value == current else ""
        opts.append(f'<option value="{escape(value)}"{chosen}>{escape(value)}</option>')
    return f'<select name="{name}">{"".join(opts)}</select>'


def wall_page(
    tiles: Sequence[Tile],
    total: int,
    namespaces: Sequence[str],
    filters: Filters,
    now: datetime,
    *,
    user: str = "",
    version: int = 0,
) -> str:
    """The wall: filters on top, then every tile (already filtered and in order), live via /events."""
    counts = {h: sum(1 for t in tiles if t.health is h) for h in Health}
    summary = ", ".join(f"{counts[h]} {h.value}" for h in Health if counts[h])
    events = "/events?" + "&".join(p for p in (filters.query(), f"since={version}") if p)
    who = f'<span class="user">{escape(user)}</span>' if user else ""
    body = "".join(render_tile(t, now) for t in tiles)
    return (
        f'{_head("camops — cameras")}<body data-events="{escape(events)}">'
        f'<header><h1>camops</h1><form class="filters" method="get" action="/">'
        f"{_select('namespace', filters.namespace, namespaces, 'all namespaces')}"
        f'<input name="label" placeholder="label (site=north)" value="{escape(filters.label)}">'
        f"{_select('state', filters.state, [h.value for h in Health], 'any state')}"
        f'<input name="q" type="search" placeholder="search by name" value="{escape(filters.search)}">'
        f'<button type="submit">filter</button></form>'
        f'<span class="count" id="count" data-total="{total}">'
        f"{len(tiles)} of {total} cameras{': ' + summary if summary else ''}</span>"
        f'{who}<span id="live" class="live">connecting…</span>'
        + ('<form method="post" action="/logout"><button>sign out</button></form>' if user else "")
        + "</header>"
        f'<main id="wall" class="wall">{body}</main></body></html>'
    )


def _facts(record: CameraRecord) -> str:
    rows = "".join(
        f"<tr><th>{escape(what)}</th><td>{escape(value)}</td><td>{escape(detail)}</td></tr>"
        for what, value, detail in record.facts
    )
    return f'<table class="facts">{rows}</table>' if rows else ""


def _outage_list(outages: Sequence[Outage]) -> str:
    items = []
    for outage in reversed(outages):
        end = f"{outage.ended_at:%Y-%m-%d %H:%M:%S}Z" if outage.ended_at else "ongoing"
        reason = f" — {escape(outage.reason)}" if outage.reason else ""
        items.append(f"<li>{outage.started_at:%Y-%m-%d %H:%M:%S}Z → {end}{reason}</li>")
    return f'<ul class="outages">{"".join(items)}</ul>'


def _outages(record: CameraRecord) -> str:
    """What the worker reported (status.capture.outages) when it does, else what the console saw."""
    if record.reported:
        return '<p class="quiet">As the capture worker reports them:</p>' + _outage_list(record.reported)
    if record.outages:
        return '<p class="quiet">As the console saw them since it started:</p>' + _outage_list(record.outages)
    return '<p class="quiet">No outages reported or seen since the console started.</p>'


def camera_page(record: CameraRecord, days: Sequence[str], now: datetime) -> str:
    """A camera: status in words, outages, the day browser with its time slider, segments, analysis."""
    tile = record.tile
    base = camera_url(tile.namespace, tile.name)
    day_options = "".join(f'<option value="{escape(d)}">{escape(d)}</option>' for d in days)
    browser = (
        (
            f'<section class="browser" id="browser" data-base="{escape(base)}">'
            f'<div class="controls"><select id="day">{day_options}</select>'
            '<button id="prev" type="button" title="previous snapshot">◀</button>'
            '<input id="slider" type="range" min="0" max="86399" step="1" value="86399">'
            '<button id="next" type="button" title="next snapshot">▶</button>'
            '<input id="jump" type="time" step="1"> <span id="shown-at" class="at"></span></div>'
            '<div class="view"><img id="picture" alt="snapshot"><pre id="analysis" class="analysis"></pre></div>'
            '<h3>Recorded segments</h3><div class="player"><video id="player" controls muted playsinline '
            'preload="metadata"></video></div><ul id="segments" class="segments"></ul></section>'
        )
        if days
        else '<p class="quiet">No stored snapshots or segments yet.</p>'
    )
    labels = ", ".join(f"{k}={v}" for k, v in sorted(tile.labels.items()))
    badge = f' <span class="badge pic">{escape(tile.picture)}</span>' if tile.picture else ""
    return (
        f'{_head(f"camops — {tile.name}")}<body class="camera" data-key="{escape(tile.key)}">'
        f'<header><a href="/">← all cameras</a><h1>{escape(tile.name)}</h1>'
        f'<span class="ns">{escape(tile.namespace)}</span> <span class="labels">{escape(labels)}</span></header>'
        f'<section class="status {tile.health.value}"><h2>Status: <span class="badge phase">{escape(tile.phase)}'
        f'</span>{badge} <span class="health">{escape(tile.health.value)}</span></h2>'
        f"<p>Last snapshot {escape(ago(tile.last_snapshot_at, now))}"
        f"{f'; {tile.queue_depth} item(s) queued' if tile.queue_depth else ''}.</p>"
        f"{_facts(record)}<h3>Outages</h3>{_outages(record)}</section>{browser}</body></html>"
    )


def login_page(message: str = "") -> str:
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    return (
        f'{_head("camops — sign in")}<body class="login"><h1>camops console</h1>{note}'
        '<form method="post" action="/login"><label>Kubernetes bearer token '
        '<input name="token" type="password" autocomplete="off" required></label>'
        '<button type="submit">sign in</button></form>'
        '<p class="quiet">The token is kept in an HttpOnly cookie and checked with the Kubernetes API '
        "(TokenReview); you see the cameras your RBAC lets you <code>get</code>.</p></body></html>"
    )
