"""What a reader sees on a study page, as data: labels, heading texts and text patterns.

The parser finds every field by these landmarks and by document order, never by class names or
nesting depth, so a change of markup that keeps the visible page leaves extraction intact.
Grouped by page part, top to bottom, as the page shows them.
"""

from __future__ import annotations

import re

from scraper.records import SectionKey

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = r"(?P<month>" + "|".join(MONTHS) + r")"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
# What a client-side renderer shows where a number or a name failed to render: the field is null.
_NOISE = r"(?:NaN|undefined|null)"
_OPEN_QUOTE = "“"
_CLOSE_QUOTE = "”"

# --- Page chrome: elements a reader never sees, or site furniture around the study -------------
INVISIBLE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas"}
)
# Site furniture is recognised by what it says, not by its tag: a study's own links may sit in a
# `nav`, `header` or `aside`, so those are read like any element. A line made only of menu and
# account words (`Join Log in`, `14 shares Share`) is furniture wherever it sits.
FURNITURE_LINE = re.compile(
    r"^(?:(?:join|log ?in|log out|sign (?:in|up)|register|menu|search|share|subscribe"
    r"|(?:\d+|undefined|NaN)\s+shares?)(?:\s+|$))+$",
    re.IGNORECASE,
)
# Headings of site widgets that list other studies or posts (`Trending on Tressless`, `Latest from
# the Community`): what follows them is not part of the section before.
FURNITURE_HEADING = re.compile(
    r"^(?:trending(?:\s+on\s+\w+)?|popular(?:\s+\w+)?|most\s+(?:read|viewed|popular)"
    r"|latest(?:\s+from\s+the\s+community|\s+posts|\s+research)?|join\s+\w+|newsletter"
    r"|you\s+may\s+also\s+like|more\s+from\s+\w+)$",
    re.IGNORECASE,
)
# The conventional class names of "visually hidden" text (Bootstrap/Tailwind `sr-only`,
# WordPress `screen-reader-text`, `visually-hidden`): read by screen readers, never seen.
VISUALLY_HIDDEN_CLASSES = frozenset(
    {"sr-only", "screen-reader-text", "visually-hidden", "visuallyhidden", "a11y-hidden"}
)
# Tokens a client-side renderer leaves where a value failed to render; a text node that holds only
# one of them is not page text. Zero-width characters are invisible and never part of a value.
CLIENT_NOISE_TOKENS = frozenset({"undefined", "NaN", "null", "[object Object]"})
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Elements that start a new line of text; everything else flows inline.
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "button", "caption", "dd",
        "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "form", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "menu", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
        "center",
    }
)  # fmt: skip
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# `<title>` suffixes such as " | Tressless" or " - Tressless" are the site's name, not the study's.
TITLE_SITE_SUFFIX = re.compile(r"\s+[|\-–—·]\s+[^|\-–—·]{1,40}$")

# --- Header: date and venue, authors, image, TLDR ---------------------------------------------
# `January 2024 in “ Dermatologic therapy` (newer), `in “Dermatologic therapy` (older), date only.
# Flex layouts glue `2024` to `in “` with no space: a 4-digit year ends by itself.
DATE_LINE = re.compile(
    rf"^{_MONTH}\s+{_YEAR}(?:\s*in\s*{_OPEN_QUOTE}\s*(?P<venue>.*?))?\s*{_CLOSE_QUOTE}?\s*$",
    re.IGNORECASE,
)
VENUE_LINE = re.compile(rf"^in\s*{_OPEN_QUOTE}\s*(?P<venue>.+?)\s*{_CLOSE_QUOTE}?\s*$")
AUTHOR_SEPARATOR = ", "
# A names line: short comma-separated tokens. Longer tokens are prose (a summary), not names.
MAX_WORDS_PER_AUTHOR = 6
MAX_AUTHOR_LENGTH = 80
IMAGE_ALT = "Image of study"
# `<b>TLDR</b>Text` reads `TLDRText`: the label ends where a lowercase letter would continue a word.
# A client may render it twice (`TLDR TLDR ...`).
TLDR_LABEL = re.compile(r"^(?:[Tt][Ll][Dd][Rr](?![a-z])[:\s]*)+")

# --- Link line ------------------------------------------------------------------------------
ARROW = "→"
DISCUSS_LINK = re.compile(r"^Discuss this study in the Community\s*→?$", re.IGNORECASE)
VIEW_ON_LINK = re.compile(r"^View this study on\s*(?P<host>[^\s→]*)\s*→?$", re.IGNORECASE)

# --- Sections -------------------------------------------------------------------------------
# Heading texts of each section, both generations. Matched against a whole line.
SECTION_HEADINGS: dict[str, SectionKey] = {
    "research cited in this study": "cited_research",
    "cited in this study": "cited_research",
    "related community posts": "community_posts",
    "related research": "related_research",
    "similar research": "related_research",
    "related": "related_research",
}
# The order sections take on every page; a list whose heading is missing takes the next kind.
SECTION_ORDER: tuple[SectionKey, ...] = ("cited_research", "community_posts", "related_research")
# The `Join` button, glued to the heading when it sits in the heading element (`PostsJoin`).
JOIN_BUTTON = re.compile(r"(?:\s*Join)+$")
# `14 / 14 results`, `6 / 1000+ results`, `9 / results`, `14 / NoResults`,
# `0 / 0 results — no results`
COUNT_LINE = re.compile(
    r"^(?P<shown>\d+)\s*/\s*(?:(?P<total>\d+\+?)\s*results?|(?P<none>NoResults)|results?)"
    r"(?:\s*[—–-]?\s*no results)?\s*$",
    re.IGNORECASE,
)

# --- Entries of the cited and related lists ---------------------------------------------------
# A rendering glitch of the site that stands before some entries.
GLITCH = "[object Object]"
# `12 citations, July 2013 in “Journal of Investigative Dermatology”`, each part optional, read
# from the start of the text after the entry's title; what follows is the entry's TLDR.
# The label alone, where the client dropped the number before it (`citations, June 2012`); only
# before a comma or the end of the line, so a TLDR that starts with the word keeps it.
_BARE_CITATIONS = r"citations?(?=\s*(?:,|\n|$))"
ENTRY_META = re.compile(
    rf"^\s*(?:(?:(?P<citations>\d[\d,]*)|{_NOISE})\s*citations?(?![a-z])|{_BARE_CITATIONS})?"
    r"[\s,;·]*"
    rf"(?:{_MONTH}\s+{_YEAR}(?!\d))?\s*"
    rf"(?:in\s*{_OPEN_QUOTE}\s*(?P<venue>[^{_CLOSE_QUOTE}\n]*?)\s*(?:{_CLOSE_QUOTE}|(?=\n)|$))?",
    re.IGNORECASE,
)

# --- Community post cards ---------------------------------------------------------------------
COMMUNITY_BADGE = "community"
# The badge in its own element before the title reads `communityTopical fin...`; a title after it
# starts with anything but a lowercase letter.
COMMUNITY_BADGE_PREFIX = re.compile(r"^community(?:\s+|(?=[^a-z\s]))")
# Link texts in the community section that are buttons, not posts.
NON_POST_LINK_TEXTS = frozenset({"join", "community", ""})
# `in Chat  36 upvotes 1 month ago`; category or upvotes may be missing.
_AGE = r"(?P<age>\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago)"
# Pieces in separate spans read glued (`Finasteride/Dutasteride87 upvotes2 weeks ago`); a category
# never starts with a digit, so the count after it is found without a space.
# The label alone (its number dropped by the client) only before the age or the end of the line.
_VOTES = rf"(?:(?:\d+|{_NOISE})\s*upvotes?(?![a-z])|upvotes?(?=\s*(?:\d|\n|$)))"
POST_META = re.compile(
    r"^\s*(?:in(?:\s+|$|(?-i:(?=[A-Z])))(?:(?P<category>[^\d\s][^\n]*?)"
    rf"(?=\s*{_VOTES}|\s*\d+\s+\w+\s+ago\b|\s*\n|\s*$))?)?"
    rf"\s*(?:(?:(?P<upvotes>\d+)|{_NOISE})\s*upvotes?(?![a-z])|upvotes?(?=\s*(?:\d|\n|$)))?"
    rf"\s*(?:{_AGE})?",
    re.IGNORECASE,
)

# --- Pages that are not studies -----------------------------------------------------------------
ERROR_TITLE = re.compile(r"\b(404|410|not found|page not found|gone|error)\b", re.IGNORECASE)
