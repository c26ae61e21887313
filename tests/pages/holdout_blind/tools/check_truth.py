"""Check that every value of each truth JSON is visible on its page (run: python3 check_truth.py).

Visible text = text outside <head>, <script>, <style>, <template> and elements with class sr-only /
screen-reader-text, with comments dropped, U+200B removed and whitespace (incl. U+00A0) collapsed.
URL values must appear as an href/src (relative hrefs resolved against https://tressless.com).
This is a sanity check of the test material, not a parser.
"""

import glob
import json
import os
import re
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the pages sit beside tools/
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HIDDEN_CLASSES = {"sr-only", "screen-reader-text"}


class Visible(HTMLParser):
    def __init__(self, base):
        super().__init__(convert_charrefs=True)
        self.base, self.stack, self.chunks, self.urls = base, [], [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("href", "src"):
            if a.get(k):
                self.urls.add(urljoin(self.base, a[k]))
        if tag in VOID:
            return
        hide = tag in ("head", "script", "style", "template", "noscript") or bool(
            HIDDEN_CLASSES & set((a.get("class") or "").split()))
        self.stack.append((tag, hide))
        self.chunks.append(" ")   # block/inline boundary: a reader sees separate boxes

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        self.chunks.append(" ")

    def handle_data(self, data):
        if not any(h for _, h in self.stack):
            self.chunks.append(data)

    def text(self):
        t = "".join(self.chunks).replace("\u200b", "")
        return re.sub(r"\s+", " ", t).strip()


def norm(s):
    return re.sub(r"\s+", " ", s.replace("\u200b", "")).strip()


def check(html_path, json_path):
    truth = json.load(open(json_path, encoding="utf-8"))
    v = Visible(truth["url"])
    v.feed(open(html_path, encoding="utf-8").read())
    text, urls = v.text(), v.urls
    # text with element boundaries removed: values split over sibling spans ("March" "2022") still match
    flat = text
    problems = []

    def seen(s, what):
        if s is None:
            return
        n = norm(s)
        if n not in flat and n.replace(" ", "") not in flat.replace(" ", ""):
            problems.append(f"{what}: {s!r} not visible")

    def url(u, what):
        if u is not None and u not in urls:
            problems.append(f"{what}: {u} not a link target")

    def month(ym, what):
        if ym is None:
            return
        y, m = ym.split("-")
        names = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"]
        seen(f"{names[int(m) - 1]} {y}", what)

    if truth["url"] not in text and not any(u == truth["url"] for u in urls):
        pass  # the page URL is given to the parser; canonical link checked below
    seen(truth["title"], "title")
    month(truth["published"], "published")
    seen(truth["venue"], "venue")
    for a in truth["authors"]:
        seen(a, "author")
    url(truth["image_url"], "image_url")
    seen(truth["tldr"], "tldr")
    seen(truth["summary"], "summary")
    url(truth["discussion_url"], "discussion_url")
    url(truth["source_url"], "source_url")
    if truth["source_host"] and truth["source_url"] and truth["source_host"] not in truth["source_url"]:
        problems.append("source_host not the host of source_url")
    for key, sec in truth["sections"].items():
        seen(sec["heading"], f"{key}.heading")
        if sec["shown"] is not None:
            seen(str(sec["shown"]) + " /", f"{key}.shown")
        if sec["total_text"] is not None:
            seen("/ " + sec["total_text"], f"{key}.total_text")
    for key in ("cited_research", "related_research"):
        for i, e in enumerate(truth[key]):
            w = f"{key}[{i}]"
            url(e["url"], w + ".url")
            if not e["url"].endswith("-" + e["study_id"]):
                problems.append(w + ".study_id not the url's id")
            seen(e["title"], w + ".title")
            if e["citations"] is not None:
                seen(f"{e['citations']} citations", w + ".citations")
            month(e["published"], w + ".published")
            if e["venue"] is not None:
                seen(f"“{e['venue']}”", w + ".venue")
            seen(e["tldr"], w + ".tldr")
    for i, q in enumerate(truth["community_posts"]):
        w = f"community_posts[{i}]"
        url(q["url"], w + ".url")
        if not q["url"].endswith("-" + q["post_id"]):
            problems.append(w + ".post_id not the url's id")
        seen(q["title"], w + ".title")
        if q["category"] is not None:
            seen("in " + q["category"], w + ".category")
        if q["upvotes"] is not None:
            seen(f"{q['upvotes']} upvotes", w + ".upvotes")
        seen(q["age_text"], w + ".age_text")
        seen(q["summary"], w + ".summary")
    if f'href="{truth["url"]}"' not in open(html_path, encoding="utf-8").read():
        problems.append("no canonical link to the page URL")
    return problems


def main():
    bad = 0
    for h in sorted(glob.glob(os.path.join(HERE, "*", "*.html"))):
        j = h[:-5] + ".json"
        ps = check(h, j)
        print(("OK  " if not ps else "BAD ") + os.path.relpath(h, HERE))
        for p in ps:
            print("    " + p)
        bad += bool(ps)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
