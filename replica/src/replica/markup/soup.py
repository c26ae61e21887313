"""Markup (b): utility-class `div`/`span` soup, as a component framework with CSS modules emits it.

Only the page chrome uses `header`/`footer`; the content is `div`s and `span`s: no `h1`/`h2`
(headings are styled `div`s), hashed class names, no canonical or `og:` metadata, and
prose split across adjacent inline spans — at word boundaries or mid-word, never changing the text
a reader sees (a parser must not add spaces between adjacent inline elements).
"""

from __future__ import annotations

import random
import unicodedata
from itertools import pairwise

from replica import vocab
from replica.markup.text import (
    FOOTER_LINKS,
    FOOTER_TEXT,
    NAV_LINKS,
    Context,
    attr,
    card_meta,
    count_text,
    date_line,
    entry_href,
    entry_meta,
    esc,
    hashed,
    link_label,
    no_results,
    page_title,
)
from replica.model import Block, CardView, EntryView, PlainView, SectionView, StudyView

NAME = "soup"
_SALT = "soup-v3"
_STYLE_NAMES = ("app", "bar", "shell", "col", "xl", "row", "pill", "chip", "muted", "stack", "gap")


def c(*names: str) -> str:
    """`class="..."` with hashed utility names."""
    return 'class="' + " ".join(hashed(_SALT, n) for n in names) + '"'


def split_spans(text: str, pieces: int, *, keep: int = 0, words_only: bool = False) -> str:
    """`text` as adjacent `<span>`s; cuts are drawn from the text itself, so they are stable.

    `keep` characters at the start stay in the first span (a label such as `TLDR `). A cut never
    separates a letter from its combining mark, and `words_only` cuts only before a space.
    """
    rng = random.Random(text)
    candidates = [
        i
        for i in range(keep + 1, len(text))
        if not unicodedata.combining(text[i]) and (not words_only or text[i] == " ")
    ]
    cuts = sorted(rng.sample(candidates, min(len(candidates), max(0, pieces - 1))))
    bounds = [0, *cuts, len(text)]
    return "".join(f"<span>{esc(text[a:b])}</span>" for a, b in pairwise(bounds))


def _document(title: str, body: str) -> str:
    style = "".join(f".{hashed(_SALT, n)}{{margin:0}}" for n in _STYLE_NAMES)
    nav = "".join(f'<a {c("chip")} href="{attr(h)}">{esc(t)}</a>' for t, h in NAV_LINKS)
    footer = "".join(f'<a {c("chip")} href="{attr(h)}">{esc(t)}</a>' for t, h in FOOTER_LINKS)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{esc(page_title(title))}</title><style>{style}</style></head>"
        f'<body><div id="__app" {c("app")}><header {c("bar", "row")}>{nav}</header>\n'
        f"<div {c('shell')}><div {c('col', 'stack')}>\n{body}</div></div>\n"
        f"<footer {c('bar', 'muted')}>{footer}<div>{esc(FOOTER_TEXT)}</div></footer></div>"
        "<script>window.__app=window.__app||{ready:false};</script></body></html>\n"
    )


def render_study(view: StudyView, context: Context) -> str:
    parts = [f"<div {c('xl', 'gap')}>{split_spans(view.title, 3)}</div>\n"]
    line = date_line(view)
    if line:
        date, venue = line
        venue_html = ""
        if venue and view.venue:
            label = venue[: len(venue) - len(view.venue)]
            venue_html = f" <span>{esc(label)}</span><span>{esc(view.venue)}</span>"
        parts.append(f"<div {c('row', 'muted')}><span>{esc(date)}</span>{venue_html}</div>\n")
    if view.authors:
        names = ", ".join(f"<span {c('chip')}>{esc(n)}</span>" for n in view.authors)
        parts.append(f"<div {c('row', 'muted')}>{names}</div>\n")
    if view.image_src:
        parts.append(
            f'<div {c("gap")}><img {c("xl")} src="{attr(view.image_src)}" '
            f'alt="{vocab.IMAGE_ALT}"></div>\n'
        )
    parts.append(_tldr(view))
    if view.summary:
        parts.append(f"<div {c('gap')}>{split_spans(view.summary, 6)}</div>\n")
    parts += [_link(link.href, link_label(link)) for link in view.links]
    parts += [_section(s, context) for s in view.sections]
    return _document(view.title, "".join(parts))


def _tldr(view: StudyView) -> str:
    if not view.tldr:
        return ""
    if view.tldr_inline:
        text = f"{vocab.TLDR_LABEL} {view.tldr}"
        inner = split_spans(text, 3, keep=len(vocab.TLDR_LABEL) + 1)
    else:
        inner = (
            f"<span {c('pill')}>{vocab.TLDR_LABEL}</span> <span>{split_spans(view.tldr, 3)}</span>"
        )
    return f"<div {c('gap', 'stack')}>{inner}</div>\n"


def _link(href: str | None, label: str) -> str:
    target = f' href="{attr(href)}"' if href else ' role="link"'
    return (
        f"<div {c('row')}><a {c('chip')}{target}><span>{esc(label)}</span> "
        f"<span {c('muted')}>{vocab.ARROW}</span></a></div>\n"
    )


def _heading(section: SectionView) -> str:
    if section.heading is None:
        return ""
    if section.key == "community_posts":
        return (
            f"<div {c('row', 'xl')}><span>{esc(section.heading)}</span> "
            f'<button {c("chip")} type="button">{vocab.JOIN_TEXT}</button></div>\n'
        )
    return f"<div {c('xl')}>{esc(section.heading)}</div>\n"


def _section(section: SectionView, context: Context) -> str:
    parts = [f"<div {c('stack', 'gap')}>\n", _heading(section)]
    count = count_text(section)
    if count:
        parts.append(f"<div {c('muted')}>{split_spans(count, 2, words_only=True)}</div>\n")
    if no_results(section):
        parts.append(f"<div {c('muted')}>{vocab.NO_RESULTS_TAIL}</div>\n")
    parts += [_entry(e, context) for e in section.entries]
    parts += [_card(card) for card in section.cards]
    parts.append("</div>\n")
    return "".join(parts)


def _entry(entry: EntryView, context: Context) -> str:
    glitch = f"<div {c('muted')}>{vocab.GLITCH_TEXT}</div>" if entry.glitch else ""
    meta = entry_meta(entry)
    return (
        f'{glitch}<div {c("stack")}><a {c("row")} href="{attr(entry_href(entry, context))}">'
        f"{split_spans(entry.title, 2)}</a>"
        + (f"<div {c('muted')}>{split_spans(meta, 3, words_only=True)}</div>" if meta else "")
        + (f"<div>{split_spans(entry.tldr, 2)}</div>" if entry.tldr else "")
        + "</div>\n"
    )


def _card(card: CardView) -> str:
    return (
        f"<div {c('stack', 'gap')}><div {c('row')}><span {c('pill')}>{vocab.COMMUNITY_BADGE}"
        f'</span> <a href="{attr(card.path)}">{split_spans(card.title, 2)}</a></div>'
        f"<div {c('muted')}>{esc(card_meta(card, gap=chr(0xA0) + ' '))}</div>"
        + (f"<div>{split_spans(card.summary, 2)}</div>" if card.summary else "")
        + "</div>\n"
    )


def render_plain(view: PlainView, context: Context) -> str:
    body = f"<div {c('xl')}>{esc(view.title)}</div>\n" + "".join(_block(b) for b in view.blocks)
    return _document(view.title, body)


def _block(block: Block) -> str:
    if block.kind == "h2":
        return f"<div {c('xl', 'gap')}>{esc(block.text)}</div>\n"
    if block.kind == "p":
        return f"<div {c('gap')}>{esc(block.text)}</div>\n"
    return "".join(f'<div><a href="{attr(h)}">{esc(t)}</a></div>\n' for t, h in block.links)
