"""Markup (c): an older layout of nested `table`s, `font`, `b` and `<br>` line breaks.

Lines inside one cell are separated only by `<br>`; no canonical link, no metadata.
"""

from __future__ import annotations

from replica import vocab
from replica.markup.text import (
    FOOTER_LINKS,
    FOOTER_TEXT,
    JOIN_HREF,
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

NAME = "table"
_NBSP_GAP = "\u00a0 "  # the card meta line's double gap, as old templates wrote it


def _document(title: str, body: str) -> str:
    nav = " | ".join(f'<a href="{attr(h)}">{esc(t)}</a>' for t, h in NAV_LINKS)
    footer = " | ".join(f'<a href="{attr(h)}">{esc(t)}</a>' for t, h in FOOTER_LINKS)
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        f"<title>{esc(page_title(title))}</title></head>\n"
        '<body bgcolor="#ffffff" text="#222222" link="#1a4d8f">\n'
        f'<table width="100%" border="0" cellspacing="0"><tr><td bgcolor="#eeeeee">'
        f'<font face="Arial" size="2">{nav}</font></td></tr></table>\n'
        '<table width="760" border="0" cellpadding="6" align="center">\n'
        f'{body}</table>\n<hr noshade size="1">\n'
        '<table width="100%" border="0"><tr><td align="center"><font face="Arial" size="1">'
        f"{footer}<br>{esc(FOOTER_TEXT)}</font></td></tr></table>\n</body></html>\n"
    )


def render_study(view: StudyView, context: Context) -> str:
    lines = [f'<font face="Arial" size="5"><b>{esc(view.title)}</b></font><br>']
    line = date_line(view)
    if line:
        text = " ".join(part for part in line if part)
        lines.append(f'<font size="2">{esc(text)}</font><br>')
    if view.authors:
        lines.append(f'<font size="2"><i>{esc(", ".join(view.authors))}</i></font><br>')
    if view.image_src:
        lines.append(
            f'<img src="{attr(view.image_src)}" alt="{vocab.IMAGE_ALT}" width="320" height="180"'
            ' border="0"><br>'
        )
    if view.tldr:
        label = vocab.TLDR_LABEL if view.tldr_inline else f"<b>{vocab.TLDR_LABEL}</b>"
        lines.append(f"{label} {esc(view.tldr)}<br><br>")
    if view.summary:
        lines.append(f"{esc(view.summary)}<br><br>")
    if view.links:
        lines.append(" &nbsp; ".join(_anchor(link.href, link_label(link)) for link in view.links))
        lines.append("<br>")
    head = '<tr><td valign="top"><font face="Arial" size="3">\n' + "\n".join(lines)
    rows = [head + "\n</font></td></tr>\n"]
    rows += [_section(s, context) for s in view.sections]
    return _document(view.title, "".join(rows))


def _anchor(href: str | None, label: str) -> str:
    target = f' href="{attr(href)}"' if href else ""
    return f"<a{target}>{esc(label)} {vocab.ARROW}</a>"


def _section(section: SectionView, context: Context) -> str:
    lines = []
    if section.heading is not None:
        join = (
            f' <a href="{JOIN_HREF}">{vocab.JOIN_TEXT}</a>'
            if section.key == "community_posts"
            else ""
        )
        lines.append(f'<font size="4"><b>{esc(section.heading)}</b></font>{join}<br>')
    count = count_text(section)
    if count:
        lines.append(f'<font size="1">{esc(count)}</font><br>')
    if no_results(section):
        lines.append(f"{vocab.NO_RESULTS_TAIL}<br>")
    items = [_entry(e, context) for e in section.entries] + [_card(card) for card in section.cards]
    if items:
        lines.append(
            '<table border="0" cellpadding="3" width="100%">\n' + "".join(items) + "</table>"
        )
    return (
        '<tr><td valign="top"><font face="Arial" size="2">\n'
        + "\n".join(lines)
        + "\n</font></td></tr>\n"
    )


def _entry(entry: EntryView, context: Context) -> str:
    glitch = vocab.GLITCH_TEXT if entry.glitch else ""
    meta = entry_meta(entry)
    return (
        f'<tr><td>{glitch}<a href="{attr(entry_href(entry, context))}">{esc(entry.title)}</a>'
        + (f'<br><font size="1">{esc(meta)}</font>' if meta else "")
        + (f"<br>{esc(entry.tldr)}" if entry.tldr else "")
        + "</td></tr>\n"
    )


def _card(card: CardView) -> str:
    return (
        f'<tr><td><font size="1" color="#888888">{vocab.COMMUNITY_BADGE}</font> '
        f'<a href="{attr(card.path)}">{esc(card.title)}</a><br>'
        f'<font size="1">{esc(card_meta(card, gap=_NBSP_GAP))}</font>'
        + (f"<br>{esc(card.summary)}" if card.summary else "")
        + "</td></tr>\n"
    )


def render_plain(view: PlainView, context: Context) -> str:
    lines = [f'<font face="Arial" size="5"><b>{esc(view.title)}</b></font><br><br>']
    lines += [_block(b) for b in view.blocks]
    return _document(
        view.title,
        '<tr><td><font face="Arial" size="2">\n' + "\n".join(lines) + "\n</font></td></tr>\n",
    )


def _block(block: Block) -> str:
    if block.kind == "h2":
        return f"<b>{esc(block.text)}</b><br>"
    if block.kind == "p":
        return f"{esc(block.text)}<br><br>"
    return "".join(f'<a href="{attr(h)}">{esc(t)}</a><br>' for t, h in block.links)
