"""Markup (a): semantic HTML5 — `article`, `h1`, `time`, `section`, `h2`, `ol`/`li`.

The only markup with `<link rel=canonical>` and `og:` metadata in its head.
"""

from __future__ import annotations

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
    link_label,
    no_results,
    page_title,
)
from replica.model import Block, CardView, EntryView, PlainView, SectionView, StudyView

NAME = "semantic"


def _document(title: str, canonical: str, body: str, og_type: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(page_title(title))}</title>\n"
        f'<link rel="canonical" href="{attr(canonical)}">\n'
        f'<meta property="og:title" content="{attr(title)}">\n'
        f'<meta property="og:url" content="{attr(canonical)}">\n'
        f'<meta property="og:type" content="{og_type}">\n'
        '<link rel="stylesheet" href="/static/site.css">\n'
        "</head>\n<body>\n"
        '<header class="site"><nav>'
        + " ".join(f'<a href="{attr(href)}">{esc(text)}</a>' for text, href in NAV_LINKS)
        + "</nav></header>\n<main>\n"
        + body
        + "</main>\n<footer><nav>"
        + " ".join(f'<a href="{attr(href)}">{esc(text)}</a>' for text, href in FOOTER_LINKS)
        + f"</nav><p>{esc(FOOTER_TEXT)}</p></footer>\n</body>\n</html>\n"
    )


def render_study(view: StudyView, context: Context) -> str:
    parts = [f"<article>\n<h1>{esc(view.title)}</h1>\n"]
    line = date_line(view)
    if line:
        year, month = view.published or (0, 0)
        date, venue = line
        parts.append(
            f'<p class="muted"><time datetime="{year:04d}-{month:02d}">{esc(date)}</time>'
            + (f" {esc(venue)}" if venue else "")
            + "</p>\n"
        )
    if view.authors:
        parts.append(f'<p class="muted small">{esc(", ".join(view.authors))}</p>\n')
    if view.image_src:
        parts.append(
            f'<figure><img src="{attr(view.image_src)}" alt="{vocab.IMAGE_ALT}" width="640"'
            ' height="360" loading="lazy"></figure>\n'
        )
    parts.append(_tldr(view))
    if view.summary:
        parts.append(f"<p>{esc(view.summary)}</p>\n")
    parts.append(_links(view))
    parts += [_section(s, context) for s in view.sections]
    parts.append("</article>\n")
    return _document(view.title, context.url(view.path), "".join(parts), "article")


def _tldr(view: StudyView) -> str:
    if not view.tldr:
        return ""
    if view.tldr_inline:
        return f'<p class="lead">{vocab.TLDR_LABEL} {esc(view.tldr)}</p>\n'
    return f'<p class="lead"><strong>{vocab.TLDR_LABEL}</strong> {esc(view.tldr)}</p>\n'


def _links(view: StudyView) -> str:
    if not view.links:
        return ""
    anchors = []
    for link in view.links:
        href = f' href="{attr(link.href)}"' if link.href else ""
        rel = ' rel="noopener" target="_blank"' if link.kind == "view" and link.href else ""
        anchors.append(f"<a{href}{rel}>{esc(link_label(link))} {vocab.ARROW}</a>")
    return '<p class="actions">' + " ".join(anchors) + "</p>\n"


def _section(section: SectionView, context: Context) -> str:
    parts = ["<section>\n"]
    if section.heading is not None:
        join = ' <button type="button">Join</button>' if section.key == "community_posts" else ""
        parts.append(f"<h2>{esc(section.heading)}{join}</h2>\n")
    count = count_text(section)
    if count:
        parts.append(f'<p class="muted">{esc(count)}</p>\n')
    if no_results(section):
        parts.append(f"<p>{vocab.NO_RESULTS_TAIL}</p>\n")
    if section.entries:
        parts.append("<ol>\n" + "".join(_entry(e, context) for e in section.entries) + "</ol>\n")
    if section.cards:
        parts.append('<ul class="cards">\n' + "".join(_card(c) for c in section.cards) + "</ul>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _entry(entry: EntryView, context: Context) -> str:
    glitch = vocab.GLITCH_TEXT if entry.glitch else ""
    meta = entry_meta(entry)
    return (
        f'<li>{glitch}<a href="{attr(entry_href(entry, context))}">{esc(entry.title)}</a>'
        + (f'<p class="muted">{esc(meta)}</p>' if meta else "")
        + (f"<p>{esc(entry.tldr)}</p>" if entry.tldr else "")
        + "</li>\n"
    )


def _card(card: CardView) -> str:
    return (
        f'<li><span class="badge">{vocab.COMMUNITY_BADGE}</span> '
        f'<a href="{attr(card.path)}">{esc(card.title)}</a>'
        f'<p class="muted">{esc(card_meta(card))}</p>'
        + (f"<p>{esc(card.summary)}</p>" if card.summary else "")
        + "</li>\n"
    )


def render_plain(view: PlainView, context: Context) -> str:
    body = f"<h1>{esc(view.title)}</h1>\n" + "".join(_block(b) for b in view.blocks)
    return _document(view.title, context.url(view.path), body, "website")


def _block(block: Block) -> str:
    if block.kind == "h2":
        return f"<h2>{esc(block.text)}</h2>\n"
    if block.kind == "p":
        return f"<p>{esc(block.text)}</p>\n"
    items = "".join(f'<li><a href="{attr(h)}">{esc(t)}</a></li>\n' for t, h in block.links)
    return f"<ul>\n{items}</ul>\n" if items else ""
