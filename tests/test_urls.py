"""URL canonicalisation: one spelling per page, however a link writes it."""

from __future__ import annotations

from urllib.parse import urljoin

from hypothesis import given
from hypothesis import strategies as st

from scraper.urls import _canonical, canonicalize, host_spellings

BASES = st.sampled_from(["https://tressless.com/research/a-b1", "http://127.0.0.1:8080/x/", None])
PARTS = st.text(alphabet="aZ09-_.~%/?#=&:;@ +é", max_size=20)


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
    joined = urljoin(base, url) if base else url
    assert canonicalize(url, base=base) == _canonical(joined)


@given(rest=PARTS, base=BASES)
def test_relative_links_are_joined_to_their_page(rest: str, base: str | None) -> None:
    if base is None:
        return
    assert canonicalize(rest, base=base) == _canonical(urljoin(base, rest.strip()))


def test_a_host_is_one_site_with_and_without_www() -> None:
    both = frozenset({"tressless.com", "www.tressless.com"})
    assert host_spellings("Tressless.com") == host_spellings("www.tressless.com") == both
