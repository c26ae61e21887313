"""URL canonicalisation: one spelling per page, however a link writes it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.urls import _canonical, canonicalize, host_spellings, page_kind_from_url

BASES = st.sampled_from(["https://tressless.com/research/a-b1", "http://127.0.0.1:8080/x/", None])
PARTS = st.text(alphabet="aZ09-_.~%/?#=&:;@ +é", max_size=20)


def outcome(spell: Callable[[], str]) -> str:
    """The canonical form, or the refusal: an unparsable link (`//::`) raises ValueError, which
    discovery records as `bad-url: unparsable`."""
    try:
        return spell()
    except ValueError:
        return "ValueError"


@given(
    scheme=st.sampled_from(["http://", "https://"]),
    host=st.sampled_from(["tressless.com", "WWW.Tressless.com", "127.0.0.1:8080", "h:80"]),
    rest=PARTS,
    base=BASES,
)
def test_absolute_links_skip_the_join_and_keep_their_spelling(
    scheme: str, host: str, rest: str, base: str | None
) -> None:
    url = f"{scheme}{host}/{rest}"
    link = url.strip()  # canonicalize strips a link first
    joined = urljoin(base, link) if base else link
    assert outcome(lambda: canonicalize(url, base=base)) == outcome(lambda: _canonical(joined))


@given(rest=PARTS, base=BASES)
def test_relative_links_are_joined_to_their_page(rest: str, base: str | None) -> None:
    if base is None:
        return
    joined = urljoin(base, rest.strip())
    assert outcome(lambda: canonicalize(rest, base=base)) == outcome(lambda: _canonical(joined))


def test_an_unparsable_link_is_refused_the_same_way_joined_or_not() -> None:
    base = "https://tressless.com/research/a-b1"
    assert outcome(lambda: canonicalize("//::", base=base)) == "ValueError"


def test_an_absolute_link_with_empty_path_parameters_is_joined_as_before() -> None:
    # urljoin drops an empty `;` that w3lib would keep: such a link still goes through it.
    base = "http://127.0.0.1:8080/x/"
    link = "http://tressless.com/ ;"
    assert canonicalize(link, base=base) == _canonical(urljoin(base, link))


def test_a_host_is_one_site_with_and_without_www() -> None:
    both = frozenset({"tressless.com", "www.tressless.com"})
    assert host_spellings("Tressless.com") == host_spellings("www.tressless.com") == both


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://tressless.com/research/finasteride-study-Pgny", "study"),
        ("https://tressless.com/community/posts/my-results-abc123", "post"),
        ("https://tressless.com/search/minoxidil", "search"),
        ("https://tressless.com/search?q=minoxidil", "search"),
        ("https://tressless.com/learn/treatments", "learn"),
        ("https://tressless.com/learn", "learn"),
        ("https://tressless.com/", "other"),
        (None, "other"),
    ],
)
def test_one_page_kind_per_url(url: str | None, kind: str) -> None:
    assert page_kind_from_url(url) == kind
