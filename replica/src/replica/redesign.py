"""A site redesign for drift tests: `Replica.break_layout(True)` renders study pages this way.

The redesigned page shows the same study, but its header landmarks have moved or changed:

- the date and venue read `Dermatologic therapy · 2024-01` in a kicker line above the title,
  instead of `January 2024 in “ Dermatologic therapy` under it;
- the `TLDR` label is now `Key finding:`, and the summary follows the sentence in the same
  paragraph (no paragraph break), also above the title, followed by the link line.

Title, authors, image and sections stay where they were (the page uses the semantic markup for
everything else), so a landmark parser keeps those and the links, and loses `published`, `venue`,
`tldr` and `summary` on every page: the drift a coverage check is there to notice. The ground
truth is unchanged, since the page still shows the same study.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from replica import vocab
from replica.markup import Context, render_view
from replica.markup.text import attr, esc, link_label
from replica.model import StudyView

MARKUP: Final = "semantic"  # the markup the redesigned pages keep for everything but the header
ARTICLE_OPEN: Final = "<article>\n"  # where the semantic markup starts the study's content
KEY_FINDING_LABEL: Final = "Key finding:"  # replaces `TLDR`
KICKER_SEPARATOR: Final = " · "


def render_broken(view: StudyView, context: Context) -> str:
    """The study page of `view` in the redesigned layout (see the module docstring)."""
    bare = replace(view, published=None, venue=None, tldr=None, summary=None, links=())
    html = render_view(bare, MARKUP, context)
    lede = _kicker(view) + _finding(view) + _links(view)
    return html.replace(ARTICLE_OPEN, ARTICLE_OPEN + lede, 1)


def _kicker(view: StudyView) -> str:
    parts = [view.venue] if view.venue and view.published else []
    if view.published:
        year, month = view.published
        parts.append(f"{year:04d}-{month:02d}")
    if not parts:
        return ""
    return f'<p class="kicker">{esc(KICKER_SEPARATOR.join(parts))}</p>\n'


def _finding(view: StudyView) -> str:
    text = " ".join(part for part in (view.tldr, view.summary) if part)
    if not text:
        return ""
    label = f"<strong>{KEY_FINDING_LABEL}</strong> " if view.tldr else ""
    return f'<p class="finding">{label}{esc(text)}</p>\n'


def _links(view: StudyView) -> str:
    anchors = []
    for link in view.links:
        href = f' href="{attr(link.href)}"' if link.href else ""
        anchors.append(f"<a{href}>{esc(link_label(link))} {vocab.ARROW}</a>")
    return f'<p class="actions">{" ".join(anchors)}</p>\n' if anchors else ""
