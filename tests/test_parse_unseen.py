"""The parser on markups it has never seen: small hand-written pages, one class of markup each.

Each class is one the blind hold-outs (`tests/pages/holdout_blind/`) showed the parser misreading:
page content inside furniture elements, labels glued to their neighbours by flex layouts, minimal
study pages, text noise left by client-side rendering, and fields that cannot be placed, which are
null with a warning, never a neighbour's value.
"""

from __future__ import annotations

from scraper.parse import parse_study
from scraper.records import StudyPage

URL = "https://tressless.com/research/a-study-of-scalp-things-Ab1"
TITLE = "A Study of Scalp Things"
SUMMARY = (
    "Forty men used the lotion for six months and their hair counts were compared with forty "
    "men who used a vehicle; counts rose slightly more with the lotion."
)


def parse(body: str, title: str = TITLE) -> StudyPage:
    html = f"<html><head><title>{title} | Tressless</title></head><body>{body}</body></html>"
    return parse_study(html.encode(), URL)


# --- Page content inside furniture elements ------------------------------------------------------
def test_view_link_inside_a_nav_is_the_studys_link() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>Ann Lee, Bo Kim</p><p>{SUMMARY}</p>"
        "<nav><a href='https://doi.org/10.1/x'>View this study on doi.org →</a></nav>"
    )
    assert (page.source_url, page.source_host) == ("https://doi.org/10.1/x", "doi.org")


def test_a_section_inside_a_nav_is_read() -> None:
    page = parse(
        f"<main><h1>{TITLE}</h1><p>{SUMMARY}</p></main>"
        "<nav aria-label='More research'><h2>Related Research</h2><p>1 / 9 results</p>"
        "<ul><li><a href='/research/other-study-Xy9'>Other study</a><p>3 citations</p></li></ul>"
        "</nav><footer><a href='/privacy'>Privacy</a></footer>"
    )
    assert [entry.study_id for entry in page.related_research] == ["Xy9"]
    assert page.related_research[0].citations == 3


def test_menu_words_in_the_header_are_furniture_not_authors() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><div><a href='/join'>Join</a> <a href='/login'>Log in</a></div>"
        f"<p>Ann Lee, Bo Kim</p><p>{SUMMARY}</p>"
    )
    assert page.authors == ("Ann Lee", "Bo Kim")
    assert page.summary == SUMMARY


def test_share_counter_is_not_the_summary() -> None:
    page = parse(f"<h1>{TITLE}</h1><p>Ann Lee</p><div>14 shares <a href='#'>Share</a></div>")
    assert page.summary is None
    assert "summary not found" in page.warnings


def test_visually_hidden_text_is_not_read_and_aria_hidden_text_is() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><dl><dt class='sr-only'>Published</dt><dd>May 2020 in “ Skin</dd>"
        "<dt class='sr-only'>Authors</dt><dd><ul><li>Ann Lee<span aria-hidden='true'>, </span></li>"
        "<li>Bo Kim</li></ul></dd></dl>"
        f"<p><span class='sr-only'>TLDR: </span>TLDR It helped a little.</p><p>{SUMMARY}</p>"
    )
    assert (page.published, page.venue) == ("2020-05", "Skin")
    assert page.authors == ("Ann Lee", "Bo Kim")
    assert page.tldr == "It helped a little."


# --- Labels glued to their neighbours -------------------------------------------------------------
def test_glued_date_line_tldr_and_join_are_split() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><div><span>March 2022</span><span>in “ Trichology Reports</span></div>"
        f"<div><span>Ann Lee</span>, <span>Bo Kim</span></div><p><b>TLDR</b>It helped.</p>"
        f"<p>{SUMMARY}</p><h2>Related Community Posts<a href='/join'>Join</a></h2>"
        "<p><span>1</span><span>/</span><span>1</span><span>results</span></p>"
        "<ul><li><a href='/community/some-post-abc123'><div><span>community</span>"
        "<span>Is it working?</span></div><div><span>in Finasteride/Dutasteride</span>"
        "<span>87 upvotes</span><span>2 weeks ago</span></div></a></li></ul>"
    )
    assert (page.published, page.venue, page.tldr) == (
        "2022-03",
        "Trichology Reports",
        "It helped.",
    )
    assert page.sections["community_posts"].heading == "Related Community Posts"
    post = page.community_posts[0]
    assert (post.title, post.category, post.upvotes, post.age_text) == (
        "Is it working?",
        "Finasteride/Dutasteride",
        87,
        "2 weeks ago",
    )


def test_glued_entry_meta_is_split() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p><h2>Research cited in this study</h2>"
        "<ul><li><a href='/research/other-study-Xy9'>Other study</a><div>"
        "<span>12 citations,</span><span>July 2013</span><span>in “Hair Journal”</span></div>"
        "<p>It grew.</p></li></ul>"
    )
    entry = page.cited_research[0]
    assert (entry.citations, entry.published, entry.venue, entry.tldr) == (
        12,
        "2013-07",
        "Hair Journal",
        "It grew.",
    )


def test_a_tldr_that_starts_with_the_label_word_keeps_it() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p><h2>Related Research</h2>"
        "<ul><li><a href='/research/other-study-Xy9'>Other study</a>"
        "<p>Citations of this trial doubled.</p></li></ul>"
    )
    assert page.related_research[0].tldr == "Citations of this trial doubled."
    assert page.related_research[0].citations is None


# --- Minimal study pages --------------------------------------------------------------------------
def test_minimal_page_is_a_study() -> None:
    page = parse(
        "<header><a href='/'>Tressless</a><nav><a href='/research'>Research</a></nav></header>"
        f"<h1>{TITLE}</h1><p>Ann Lee, Bo Kim</p><p>{SUMMARY}</p>"
        "<footer><a href='/privacy'>Privacy</a></footer>"
    )
    assert page.page_kind == "study"
    assert (page.study_id, page.title) == ("Ab1", TITLE)
    assert page.authors == ("Ann Lee", "Bo Kim")
    assert page.summary == SUMMARY


def test_error_page_at_a_study_url_is_still_an_error() -> None:
    page = parse("<h1>Page not found</h1><p>Sorry.</p>", title="Page not found")
    assert page.page_kind == "error"


# --- Client-side rendering noise ------------------------------------------------------------------
def test_noise_tokens_and_invisible_characters_are_dropped() -> None:
    page = parse(
        f"<h1>\u200b{TITLE}</h1><div role='status'>undefined</div>"
        "<div><span>March\u00a02022</span> <span>in “Trichology Reports\u200b</span>"
        "<span>undefined</span></div><p>Ann Lee\u200b, Bo Kim</p>"
        f"<p>TLDR It helped.</p><p>{SUMMARY}</p>",
        title=f"\u200b{TITLE}",
    )
    assert page.title == TITLE
    assert (page.published, page.venue) == ("2022-03", "Trichology Reports")
    assert page.authors == ("Ann Lee", "Bo Kim")


def test_a_value_replaced_by_noise_is_null() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p><h2>Research cited in this study</h2>"
        "<ul><li>[object Object]<a href='/research/one-Xy9'>One</a>"
        "<div><span>NaN<!-- --> citations,</span><span>June 2012</span>"
        "<span>in “<!-- -->undefined<!-- -->”</span></div><p>It grew.</p></li>"
        "<li><a href='/research/two-Xy8'>Two</a><div>NaN citations, May 2001</div></li></ul>"
        "<h2>Related Community Posts</h2><ul>"
        "<li><a href='/community/a-post-abc123'>A post</a><div><span>in undefined</span>"
        "<span>5 upvotes</span></div></li>"
        "<li><a href='/community/b-post-abc124'>B post</a><div><span>in Chat</span>"
        "<span>NaN<!-- --> upvotes</span><span>6 months ago</span></div></li>"
        "<li><a href='/community/c-post-abc125'>C post</a><div>in Female undefined upvotes</div>"
        "</li></ul>"
    )
    one, two = page.cited_research
    assert (one.citations, one.published, one.venue, one.tldr) == (
        None,
        "2012-06",
        None,
        "It grew.",
    )
    assert (two.citations, two.published) == (None, "2001-05")
    first, second, third = page.community_posts
    assert (first.category, first.upvotes) == (None, 5)
    assert (second.category, second.upvotes, second.age_text) == ("Chat", None, "6 months ago")
    assert (third.category, third.upvotes) == ("Female", None)


# --- What cannot be placed is null with a warning ------------------------------------------------
def test_view_link_without_host_text_leaves_the_host_null_with_a_warning() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p>"
        "<p><a href='https://doi.org/10.1/x/'>View this study on  →</a></p>"
    )
    assert page.source_url == "https://doi.org/10.1/x/"  # the publisher's link as written
    assert page.source_host is None
    assert "source_host not shown on the View link" in page.warnings


def test_a_trending_widget_after_an_empty_section_is_not_its_list() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p><h2>Related</h2>"
        "<aside><h3>Trending on Tressless</h3>"
        "<ul><li><a href='/research/popular-study-Pp1'>A popular study</a></li></ul>"
        "<h3>Latest from the Community</h3>"
        "<ul><li><a href='/community/hot-post-abc123'>Hot post</a></li></ul></aside>"
    )
    assert page.sections["related_research"].heading == "Related"
    assert page.related_research == ()
    assert page.community_posts == ()


def test_a_headingless_section_after_a_widget_keeps_its_count_and_list() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>{SUMMARY}</p><h2>Research cited in this study</h2><p>0 / 0 results</p>"
        "<aside><h3>Join Tressless</h3><p>Get the digest.</p></aside>"
        "<div><p>1 / 7 results</p><ul><li><a href='/research/other-study-Xy9'>Other</a></li></ul>"
        "</div>"
    )
    assert (page.sections["related_research"].shown, page.sections["related_research"].total) == (
        1,
        7,
    )
    assert [entry.study_id for entry in page.related_research] == ["Xy9"]


def test_labels_rendered_twice_or_glued_to_a_category_are_split() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>TLDR TLDR It helped.</p><p>{SUMMARY}</p>"
        "<h2>Related Community Posts <button>Join</button><a href='/join'>Join</a></h2>"
        "<ul><li><a href='/community/some-post-abc123'>Is it working?</a>"
        "<div><span>in</span><span>Chat</span><span>36 upvotes</span></div></li></ul>"
    )
    assert page.tldr == "It helped."
    assert page.sections["community_posts"].heading == "Related Community Posts"
    assert (page.community_posts[0].category, page.community_posts[0].upvotes) == ("Chat", 36)


def test_a_footer_after_the_authors_is_not_the_summary() -> None:
    page = parse(
        f"<h1>{TITLE}</h1><p>Ann Lee, Bo Kim</p>"
        "<div><p>© Tressless · <a href='/privacy'>Privacy policy</a> · "
        "<a href='/terms'>Terms of use</a></p></div>"
    )
    assert page.page_kind == "study"
    assert page.authors == ("Ann Lee", "Bo Kim")
    assert page.summary is None
    assert "summary not found" in page.warnings
