"""Hold-out markups: the replica's ground truth rendered in markups the replica never uses.

The parser is tuned against the replica's markups; these renderers exist only in the tests, so the
quality gate also measures how extraction fares on a layout nobody tuned it for (block-level card
links, labels in their own elements, `<br>`-separated lines, headings as ARIA roles). Those two were
written by the parser's authors; the blind pages at the end of this module were not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from scraper.landmarks import MONTHS as MONTH_KEYS
from scraper.records import CommunityPost, ResearchEntry, Section, StudyPage

MONTHS = [month.capitalize() for month in MONTH_KEYS]


def month_year(published: str) -> str:
    year, month = published.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def count_line(section: Section) -> str | None:
    if section.shown is None:
        return None
    if section.total_text is None:
        return f"{section.shown} / results"
    if section.total_text == "NoResults":
        return f"{section.shown} / NoResults"
    tail = " — no results" if section.total == 0 else ""
    return f"{section.shown} / {section.total_text} results{tail}"


def date_line(page: StudyPage) -> str | None:
    if page.published is None and page.venue is None:
        return None
    parts = [month_year(page.published)] if page.published else []
    if page.venue:
        parts.append(f"in “ {page.venue}")
    return " ".join(parts)


def entry_meta(entry: ResearchEntry) -> str:
    parts = []
    if entry.citations is not None:
        parts.append(f"{entry.citations} citations,")
    if entry.published:
        parts.append(month_year(entry.published))
    if entry.venue:
        parts.append(f"in “{entry.venue}”")
    return " ".join(parts)


def post_meta(post: CommunityPost) -> str:
    parts = []
    if post.category:
        parts.append(f"in {post.category} ")
    if post.upvotes is not None:
        parts.append(f"{post.upvotes} upvotes")
    if post.age_text:
        parts.append(post.age_text)
    return " ".join(parts)


def _e(text: str | None) -> str:
    return escape(text or "")


# --- Hold-out A: a single-page-app look: everything a div, cards are whole-block links ---------
def card_links(page: StudyPage) -> str:
    out = ['<div id="root"><div class="app-shell"><div class="topbar">', "<a href='/'>Home</a>"]
    out.append("<a href='/research'>Research</a></div><div class='pg'>")
    out.append(f"<div class='hd' role='heading' aria-level='1'>{_e(page.title)}</div>")
    if line := date_line(page):
        out.append(f"<div class='sub'>{_e(line)}</div>")
    if page.authors:
        out.append(f"<div class='sub2'>{_e(', '.join(page.authors))}</div>")
    if page.image_url:
        out.append(f"<div><img alt='Image of study' src='{_e(page.image_url)}'></div>")
    if page.tldr:
        out.append(f"<div class='box'><div class='pill'>TLDR</div><div>{_e(page.tldr)}</div></div>")
    if page.summary:
        out.append(f"<div class='txt'>{_e(page.summary)}</div>")
    out.append(_link_line(page, "div"))
    for key, section in page.sections.items():
        out.append("<div class='blk'>")
        if section.heading:
            join = "<div class='btn'>Join</div>" if key == "community_posts" else ""
            out.append(f"<div class='hd2'><span>{_e(section.heading)}</span>{join}</div>")
        if line := count_line(section):
            out.append(f"<div class='cnt'>{_e(line)}</div>")
        out.extend(_cards(page, key))
        out.append("</div>")
    out.append("</div><div class='ft'><a href='/privacy'>Privacy</a> © Tressless</div></div></div>")
    return "".join(out)


def _cards(page: StudyPage, key: str) -> list[str]:
    if key == "community_posts":
        return [
            f"<a class='c' href='{_e(p.url)}'><div><span class='bdg'>community</span> "
            f"{_e(p.title)}</div><div class='m'>{_e(post_meta(p))}</div>"
            + (f"<div class='s'>{_e(p.summary)}</div>" if p.summary else "")
            + "</a>"
            for p in page.community_posts
        ]
    entries = page.cited_research if key == "cited_research" else page.related_research
    return [
        f"<a class='c' href='{_e(e.url)}'><div class='t'>{_e(e.title)}</div>"
        f"<div class='m'>{_e(entry_meta(e))}</div>"
        + (f"<div class='d'>{_e(e.tldr)}</div>" if e.tldr else "")
        + "</a>"
        for e in entries
    ]


# --- Hold-out B: a plain article with <br> lines, <strong> labels, headings as <h3> -------------
def br_lines(page: StudyPage) -> str:
    out = ["<header><a href='/'>Tressless</a></header><article><p>"]
    out.append(f"<strong>{_e(page.title)}</strong><br>")
    if line := date_line(page):
        out.append(f"{_e(line)}<br>")
    if page.authors:
        out.append(f"{_e(', '.join(page.authors))}<br>")
    out.append("</p>")
    if page.image_url:
        out.append(f"<figure><img src='{_e(page.image_url)}' alt='Image of study'></figure>")
    if page.tldr:
        out.append(f"<p><strong>TLDR</strong> {_e(page.tldr)}</p>")
    if page.summary:
        out.append(f"<p>{_e(page.summary)}</p>")
    out.append(_link_line(page, "p"))
    for key, section in page.sections.items():
        if section.heading:
            join = " <button>Join</button>" if key == "community_posts" else ""
            out.append(f"<h3>{_e(section.heading)}{join}</h3>")
        if line := count_line(section):
            out.append(f"<p><small>{_e(line)}</small></p>")
        out.append("<p>")
        out.extend(_br_items(page, key))
        out.append("</p>")
    out.append("</article>")
    return "".join(out)


def _br_items(page: StudyPage, key: str) -> list[str]:
    if key == "community_posts":
        return [
            f"community <a href='{_e(p.url)}'>{_e(p.title)}</a><br>{_e(post_meta(p))}<br>"
            + (f"{_e(p.summary)}<br>" if p.summary else "")
            for p in page.community_posts
        ]
    entries = page.cited_research if key == "cited_research" else page.related_research
    return [
        f"<a href='{_e(e.url)}'>{_e(e.title)}</a><br>{_e(entry_meta(e))}<br>"
        + (f"<em>{_e(e.tldr)}</em><br>" if e.tldr else "")
        for e in entries
    ]


def _link_line(page: StudyPage, tag: str) -> str:
    links = []
    if page.discussion_url:
        links.append(
            f"<a href='{_e(page.discussion_url)}'>Discuss this study in the Community →</a>"
        )
    if page.source_url or page.source_host:
        href = f" href='{_e(page.source_url)}'" if page.source_url else ""
        links.append(f"<a{href}>View this study on {_e(page.source_host)} →</a>")
    return f"<{tag}>{' '.join(links)}</{tag}>" if links else ""


def document(page: StudyPage, body: Callable[[StudyPage], str]) -> bytes:
    head = f"<meta charset='utf-8'><title>{_e(page.title)} - Tressless</title>"
    return f"<!doctype html><html><head>{head}</head><body>{body(page)}</body></html>".encode()


HOLDOUT_MARKUPS: dict[str, Callable[[StudyPage], str]] = {
    "holdout-card-links": card_links,
    "holdout-br-lines": br_lines,
}


# --- Blind hold-outs: pages written by someone who never read the parser --------------------------
# `tests/pages/holdout_blind/` holds 12 study pages in three front-end stacks (a Next.js/Tailwind
# app, a WordPress-style CMS theme, accessibility-first markup), written BLIND: by a helper that
# read only the site's anatomy and the parse contract, never the parser, the replica or these
# tests. Each `<stack>/<page>.html` has its ground truth `<page>.json`, written from the page's
# facts, never from its HTML; its README says how they were made and the choices it made.
BLIND_DIR = Path(__file__).parent / "pages" / "holdout_blind"


@dataclass(frozen=True, slots=True)
class BlindPage:
    markup: str  # the stack: the directory's name
    name: str
    html: bytes
    truth: dict[str, Any]  # the Contract 1 keys but `parser_version` and `warnings`


def blind_pages() -> list[BlindPage]:
    pages = []
    for truth_file in sorted(BLIND_DIR.glob("*/*.json")):
        html = truth_file.with_suffix(".html")
        if not html.exists():  # the stack directories hold only pages and their truths
            continue
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        pages.append(BlindPage(truth_file.parent.name, truth_file.stem, html.read_bytes(), truth))
    return pages
