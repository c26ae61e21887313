"""Generated prose: titles, slugs, ids, author lists, TLDRs, summaries and community posts.

Every function takes the caller's `random.Random`, so a world is a pure function of its seed. Texts
are whitespace-normalised by construction (single spaces, no leading or trailing blanks) because
the ground truth compares them with what a parser reads off the page.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from collections.abc import Callable, Sequence

from replica import vocab

ID_ALPHABET = string.ascii_letters + string.digits
MAX_TITLE = 265  # longest title seen on the site
MAX_SLUG = 210  # longest slug seen on the site
TLDR_RANGE = (49, 263)
SUMMARY_RANGE = (390, 1340)
POST_SUMMARY_RANGE = (138, 385)
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with", "vs"}
)
# Markup residue the site leaves in some slugs: `D<sub>2</sub>` and `<scp>FDA</scp>`.
_SLUG_RESIDUE = ((re.compile(r"\bD2\b"), " d-sub2sub "), (re.compile(r"\bFDA\b"), " scpfdascp "))
_GREEK_FOR_SLUG = str.maketrans({"α": "a", "β": "b"})

_TITLE_TEMPLATES = (
    "{Drug} for {Condition} in {Population}: {design}",
    "Efficacy and Safety of {Drug} in {Condition}",
    "Effect of {Drug} on {Target} in {Population}",
    "{Target} in {Condition}: {design}",
    "Comparison of {Drug} and {Drug2} for {Condition}",
    "Low-Dose {Drug} (<5 mg) for {Condition}",
    "{Drug} & {Drug2}: Combined Therapy for {Condition}",
    "Role of {Target} in {Condition}",
    "Vitamin D2 Status and {Target} in {Condition}",
    "FDA-Approved {Drug} in {Condition} – {design}",
)
_TLDR_TEMPLATES = (
    "{Drug} {effect} {outcome} in {population} with {condition}.",
    "In {population} with {condition}, {drug} {effect} {outcome} compared with placebo.",
    "{target} may drive {condition}, which suggests {drug} could help.",
    "Treatment with {drug} {effect} {outcome} after {weeks} weeks.",
)
_TLDR_TAILS = (
    ", although {limitation}",
    ", and side effects were {adverse}",
    ", with the largest gains in {population}",
    ", as measured by {method}",
)
_SUMMARY_SENTENCES = (
    "This study followed {n} {population} with {condition} for {weeks} weeks.",
    "Participants who used {drug} showed a {pct}% change in {outcome} compared with controls.",
    "{target} was assessed with {method} at baseline and at the final visit.",
    "Adverse events were {adverse}.",
    "The authors concluded that {drug} {effect} {outcome}, but noted that {limitation}.",
    "Hair counts rose by {n} hairs/cm² by week {weeks}.",
    "Responses were stronger in participants with milder disease at baseline.",
    "No serious adverse events were linked to {drug}.",
    "Further trials with longer follow-up and larger samples were recommended.",
    "The researchers also examined {target} in a subgroup using {method}.",
    "About {pct}% of participants on {drug2} reported a visible improvement.",
)


def make_id(rng: random.Random, taken: set[str], length: int | None = None) -> str:
    """A fresh case-sensitive id of 3 or 4 characters (may start with a digit)."""
    while True:
        size = length or (4 if rng.random() < 0.7 else 3)
        candidate = "".join(rng.choice(ID_ALPHABET) for _ in range(size))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def make_token(rng: random.Random, size: int, taken: set[str]) -> str:
    """A fresh id of exactly `size` characters (community posts: 6, learn articles: 5)."""
    return make_id(rng, taken, length=size)


def slugify(title: str, *, residue: bool = False, limit: int = MAX_SLUG) -> str:
    """The site's slug of a title: ASCII, lowercase, hyphens; optionally with markup residue."""
    text = title
    if residue:
        for pattern, replacement in _SLUG_RESIDUE:
            text = pattern.sub(replacement, text)
    text = unicodedata.normalize("NFKD", text.translate(_GREEK_FOR_SLUG))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "study"


def cap(text: str) -> str:
    """Upper-case the first letter only (keeps `JAK`, `5α`, `TGF‐β1` as they are)."""
    return text[:1].upper() + text[1:]


def title_case(text: str) -> str:
    words = text.split(" ")
    out = [cap(w) if i == 0 or w.lower() not in _SMALL_WORDS else w for i, w in enumerate(words)]
    return " ".join(out)


_VOCABULARY = (
    vocab.DRUGS,
    vocab.CONDITIONS,
    vocab.TARGETS,
    vocab.POPULATIONS,
    vocab.DESIGNS,
    vocab.OUTCOMES,
    vocab.EFFECTS,
    vocab.METHODS,
    vocab.ADVERSE,
    vocab.LIMITATIONS,
)
# Title-cased forms computed once: `_words` runs tens of thousands of times for a large world.
_TITLED = {word: title_case(word) for words in _VOCABULARY for word in words}


def _words(rng: random.Random) -> dict[str, str]:
    """One draw of every placeholder the templates use (`{Drug}` is the title-cased `{drug}`)."""
    drug, drug2 = rng.sample(vocab.DRUGS, 2)
    values = {
        "drug": drug,
        "drug2": drug2,
        "condition": rng.choice(vocab.CONDITIONS),
        "target": rng.choice(vocab.TARGETS),
        "population": rng.choice(vocab.POPULATIONS),
        "design": rng.choice(vocab.DESIGNS),
        "outcome": rng.choice(vocab.OUTCOMES),
        "effect": rng.choice(vocab.EFFECTS),
        "method": rng.choice(vocab.METHODS),
        "adverse": rng.choice(vocab.ADVERSE),
        "limitation": rng.choice(vocab.LIMITATIONS),
        "n": str(rng.randint(8, 480)),
        "pct": str(rng.randint(5, 87)),
        "weeks": str(rng.choice((12, 16, 24, 26, 36, 48, 52))),
    }
    for key in ("drug", "drug2", "condition", "target", "population", "design"):
        values[key.capitalize()] = _TITLED[values[key]]
    return values


def clip_words(text: str, limit: int) -> str:
    """`text` cut at a word boundary so that it is at most `limit` characters."""
    if len(text) <= limit:
        return text
    return text[: limit + 1].rsplit(" ", 1)[0].rstrip(",;:–-‐ ")


def make_title(rng: random.Random) -> str:
    """A title of 14–265 characters: mostly 40–150, a few very short or very long."""
    roll = rng.random()
    if roll < 0.04:
        return rng.choice(vocab.SHORT_TITLES)
    title = rng.choice(_TITLE_TEMPLATES).format(**_words(rng))
    if roll > 0.85:
        target = rng.randint(160, MAX_TITLE)
        tails = rng.sample(vocab.TITLE_TAILS, len(vocab.TITLE_TAILS))
        while len(title) < target and tails:
            title = f"{title} {tails.pop()}"
        title = clip_words(title, MAX_TITLE)
    return title


def long_title(rng: random.Random) -> str:
    """A title close to the site's maximum length (the forced long-title variant)."""
    title = rng.choice(_TITLE_TEMPLATES).format(**_words(rng))
    for tail in vocab.TITLE_TAILS:
        title = f"{title} {tail}"
    return clip_words(title, MAX_TITLE)


def _sentence_to_length(rng: random.Random, base: str, tails: Sequence[str], hi: int) -> str:
    words = _words(rng)
    text = base.rstrip(".")
    for tail in rng.sample(list(tails), rng.randint(0, len(tails))):
        longer = text + tail.format(**words)
        if len(longer) + 1 > hi:
            break
        text = longer
    return cap(clip_words(text, hi - 1)) + "."


def make_tldr(rng: random.Random) -> str:
    """One sentence, 49–263 characters."""
    lo, hi = TLDR_RANGE
    text = _sentence_to_length(
        rng, rng.choice(_TLDR_TEMPLATES).format(**_words(rng)), _TLDR_TAILS, hi
    )
    while len(text) < lo:
        text = text[:-1] + _TLDR_TAILS[1].format(**_words(rng)) + "."
    return text


def make_summary(rng: random.Random) -> str:
    """One paragraph, 390–1340 characters, of generated sentences."""
    lo, hi = SUMMARY_RANGE
    target = rng.randint(lo, min(hi, lo + int(rng.expovariate(1 / 350))))
    sentences: list[str] = []
    length = -1
    while length < target:
        sentence = cap(rng.choice(_SUMMARY_SENTENCES).format(**_words(rng)))
        if length + 1 + len(sentence) > hi:
            break
        sentences.append(sentence)
        length += 1 + len(sentence)
    return " ".join(sentences)


# --- People -----------------------------------------------------------------------------------
AUTHOR_KINDS = (
    ("plain", 55),
    ("accented", 15),
    ("initials", 9),
    ("trailing_initials", 5),
    ("hyphenated", 6),
    ("decomposed", 4),
    ("cyrillic", 6),
)


def author_name(rng: random.Random, kind: str) -> str:
    """One author's name in the given style (`decomposed` uses combining marks, NFD)."""
    return _AUTHOR_STYLES.get(kind, _plain_name)(rng)


def _plain_name(rng: random.Random) -> str:
    return f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"


def _accented_name(rng: random.Random) -> str:
    return f"{rng.choice(vocab.ACCENTED_FIRST_NAMES)} {rng.choice(vocab.ACCENTED_LAST_NAMES)}"


def _hyphenated_name(rng: random.Random) -> str:
    left, right = rng.sample(vocab.ACCENTED_LAST_NAMES, 2)
    return f"{rng.choice(vocab.FIRST_NAMES)} {left}{vocab.HYPHEN}{right}"


_AUTHOR_STYLES: dict[str, Callable[[random.Random], str]] = {
    "plain": _plain_name,
    "accented": _accented_name,
    "initials": lambda rng: f"{rng.choice(vocab.INITIALS)} {rng.choice(vocab.LAST_NAMES)}",
    "trailing_initials": lambda rng: (
        f"{rng.choice(vocab.LAST_NAMES)} {rng.choice(vocab.TRAILING_INITIALS)}"
    ),
    "hyphenated": _hyphenated_name,
    "decomposed": lambda rng: unicodedata.normalize("NFD", _accented_name(rng)),
    "cyrillic": lambda rng: (
        f"{rng.choice(vocab.CYRILLIC_FIRST_NAMES)} {rng.choice(vocab.CYRILLIC_LAST_NAMES)}"
    ),
}


def make_authors(rng: random.Random, count: int | None = None) -> tuple[str, ...]:
    """1–33 names, mostly a handful; duplicates are dropped (a name appears once per paper)."""
    if count is None:
        roll = rng.random()
        count = rng.randint(1, 8) if roll < 0.85 else rng.randint(9, 20 if roll < 0.99 else 33)
    kinds, weights = zip(*AUTHOR_KINDS, strict=True)
    names: list[str] = []
    attempts = 0
    while len(names) < count and attempts < count * 20:
        attempts += 1
        name = author_name(rng, rng.choices(kinds, weights)[0])
        if name not in names:
            names.append(name)
    return tuple(names)


# --- Community --------------------------------------------------------------------------------
def make_post_title(rng: random.Random) -> str:
    words = _words(rng)
    words["n"] = str(rng.randint(2, 18))
    return cap(rng.choice(vocab.POST_TITLE_TEMPLATES).format(**words))


def make_post_summary(rng: random.Random) -> str:
    """One line of 138–385 characters."""
    lo, hi = POST_SUMMARY_RANGE
    words = _words(rng)
    words["n"] = str(rng.randint(2, 18))
    pool = [s.format(**words) for s in vocab.POST_SENTENCES]
    rng.shuffle(pool)
    text = ""
    for sentence in pool:
        longer = f"{text} {sentence}".strip()
        if len(longer) > hi:
            break
        text = longer
        if len(text) >= lo and rng.random() < 0.4:
            break
    return text


def make_paragraphs(rng: random.Random, count: int) -> tuple[str, ...]:
    """Body text for community posts and learn articles: a few first-person paragraphs."""
    return tuple(make_post_summary(rng) for _ in range(count))


def age_text(days: int) -> str:
    """`3 days ago`, `1 week ago`, `3 months ago`, `8 years ago` (singular for one)."""
    days = max(days, 1)
    for unit, size in (("year", 365), ("month", 30), ("week", 7), ("day", 1)):
        if days >= size:
            n = days // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "1 day ago"  # pragma: no cover - days >= 1 always matches "day"
