"""Render the blind hold-out pages in three front-end styles and write their truth JSON.

    python3 make_pages.py        (writes <stack>/<name>.html and <stack>/<name>.json next to this file)

Written without reading the project's parser or replica: only site-anatomy.md and Contract 1.
"""

import hashlib
import html
import json
import os
from urllib.parse import urlsplit

from pages_data import BASE, PAGES

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the pages sit beside tools/
ZW = "\u200b"     # zero-width space
NB = "\u00a0"     # no-break space
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


# ================================================================================================ truth
def ym(date):
    if not date:
        return None
    month, year = date.split()
    return f"{year}-{MONTHS.index(month) + 1:02d}"


def page_url(p):
    return f"{BASE}/research/{p['slug']}-{p['id']}"


def entry_url(e):
    return f"{BASE}/research/{e['slug']}-{e['id']}"


def post_url(q):
    return f"{BASE}/community/{q['slug']}-{q['id']}"


def abs_url(href):
    return href if href.startswith("http") else BASE + href


def count_truth(c):
    if c is None:
        return dict(shown=None, total=None, total_text=None)
    kind = c[0]
    if kind == "std":
        return dict(shown=c[1], total=c[2], total_text=str(c[2]))
    if kind == "plus":
        return dict(shown=c[1], total=int(c[2].rstrip("+")), total_text=c[2])
    if kind == "nototal":
        return dict(shown=c[1], total=None, total_text=None)
    if kind == "nores":
        return dict(shown=c[1], total=0, total_text="NoResults")
    if kind == "zero":
        return dict(shown=0, total=0, total_text="0")
    raise ValueError(c)


def entry_truth(e):
    return {
        "url": entry_url(e), "study_id": e["id"], "title": e["title"],
        "citations": None if e.get("cit_glitch") else e["citations"],
        "published": ym(e["date"]),
        "venue": None if e.get("venue_glitch") else e["venue"],
        "tldr": e["tldr"],
    }


def post_truth(q):
    return {
        "url": post_url(q), "post_id": q["id"], "title": q["title"],
        "category": None if q.get("cat_glitch") else q["category"],
        "upvotes": None if q.get("upv_glitch") else q["upvotes"],
        "age_text": q["age"], "summary": q["summary"],
    }


def truth(p):
    view = p.get("view")
    source_url = view["href"] if view and view["href"] else None
    if view and view["host"]:
        source_host = view["host"]
    elif source_url:
        source_host = urlsplit(source_url).hostname   # empty host text: host of the link target
    else:
        source_host = None
    out = {
        "url": page_url(p), "study_id": p["id"], "title": p["title"],
        "published": ym(p["date"]), "venue": p["venue"], "authors": list(p["authors"]),
        "image_url": p["image"], "tldr": p["tldr"], "summary": p["summary"],
        "discussion_url": abs_url(p["discuss"]) if p["discuss"] else None,
        "source_url": source_url, "source_host": source_host,
        "sections": {}, "cited_research": [], "related_research": [], "community_posts": [],
    }
    for s in p["sections"]:
        out["sections"][s["key"]] = dict(heading=s["heading"], **count_truth(s["count"]))
        if s["key"] == "community_posts":
            out["community_posts"] = [post_truth(q) for q in s["items"]]
        else:
            out[s["key"]] = [entry_truth(e) for e in s["items"]]
    return out


# ================================================================================================ helpers
def h8(*parts, n=8):
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:n]


def count_visible(c):
    """The count line as a reader sees it (None when the page shows no count line)."""
    if c is None:
        return None
    kind = c[0]
    if kind == "std":
        return f"{c[1]} / {c[2]} results"
    if kind == "plus":
        return f"{c[1]} / {c[2]} results"
    if kind == "nototal":
        return f"{c[1]} / results"
    if kind == "nores":
        return f"{c[1]} / NoResults"
    if kind == "zero":
        return "0 / 0 results"


def desc_of(p):
    text = p["tldr"] or p["summary"]
    return text if len(text) <= 158 else text[:155].rsplit(" ", 1)[0] + "…"


# ================================================================================================ Next.js
def rx(s):
    """React's text escaping."""
    return html.escape(s, quote=True)


def jx(obj):
    """Next.js htmlEscapeJsonString."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def next_entry(e, i, noise):
    href = f"/research/{e['slug']}-{e['id']}"
    bits = []
    has_date = bool(e["date"])
    if e.get("cit_glitch"):
        bits.append(f'<span>{e["cit_glitch"]}<!-- --> citations{"<!-- -->," if has_date else ""}</span>')
    elif e["citations"] is not None:
        bits.append(f'<span>{e["citations"]}<!-- --> citations{"<!-- -->," if has_date else ""}</span>')
    if has_date:
        m, y = e["date"].split()
        sep = NB if noise else " "
        bits.append(f"<span>{m}<!-- -->{sep}<!-- -->{y}</span>")
    venue = e.get("venue_glitch") or e["venue"]
    if venue:
        bits.append(f'<span>in “<!-- -->{rx(venue)}<!-- -->”</span>')
    meta = (f'<div class="mt-1 flex flex-wrap items-center gap-x-1 text-xs text-slate-500">{"".join(bits)}</div>'
            if bits else "")
    tl = f'<p class="mt-2 line-clamp-2 text-sm leading-snug text-slate-600">{rx(e["tldr"])}</p>' if e["tldr"] else ""
    glitch = "[object Object]" if e.get("glitch_before") else ""
    return (f'<li class="ResearchCard_card__q2Lw8 rounded-xl border border-slate-200 p-4 transition hover:border-indigo-300">'
            f'{glitch}<a class="font-medium leading-snug text-slate-900 hover:text-indigo-600" href="{rx(href)}">{rx(e["title"])}</a>'
            f"{meta}{tl}</li>")


def next_post(q, noise):
    href = f"/community/{q['slug']}-{q['id']}"
    meta = []
    cat = q.get("cat_glitch") or q["category"]
    if cat:
        meta.append(f"<span>in <!-- -->{rx(cat)}</span>")
    up = q.get("upv_glitch") or q["upvotes"]
    if up is not None:
        sep = NB if noise else " "
        meta.append(f"<span>{up}<!-- -->{sep}upvotes</span>")
    meta.append(f"<span>{rx(q['age'])}</span>")
    summ = (f'<p class="mt-2 line-clamp-2 text-sm text-slate-600">{rx(q["summary"])}</p>' if q["summary"] else "")
    return (f'<li><a class="PostCard_card__Zr0pX block rounded-xl border border-slate-200 p-4 hover:border-indigo-300" href="{rx(href)}">'
            f'<div class="flex items-start gap-2"><span class="mt-0.5 shrink-0 rounded bg-indigo-100 px-1.5 py-0.5 text-[10px] font-semibold tracking-wide text-indigo-700">community</span>'
            f'<span class="font-medium leading-snug text-slate-900">{rx(q["title"])}</span></div>'
            f'<div class="mt-1 flex flex-wrap gap-x-2 text-xs text-slate-500">{"".join(meta)}</div>{summ}</a></li>')


def next_count(c, noise):
    if c is None:
        return ""
    kind = c[0]
    sp = lambda t: f"<span>{t}</span>"
    if kind == "std":
        parts = [sp(c[1]), sp("/"), sp(c[2]), sp("results")]
    elif kind == "plus":
        parts = [sp(c[1]), sp("/"), f"<span>{c[2].rstrip('+')}<!-- -->+</span>", sp("results")]
    elif kind == "nototal":
        parts = [sp(c[1]), sp("/"), "<span></span>", sp("results")]
    elif kind == "nores":
        parts = [sp(c[1]), sp("/"), sp("NoResults")]
    else:
        parts = [sp(0), sp("/"), sp(0), sp("results")]
    line = f'<p class="mt-1 flex items-center gap-1 text-xs tabular-nums text-slate-500">{"".join(parts)}</p>'
    if kind == "zero":
        line += '<p class="mt-3 rounded-lg border border-dashed border-slate-200 p-4 text-center text-sm text-slate-400">— no results</p>'
    return line


def next_section(p, s):
    noise = p["noise"]
    key = s["key"]
    head = s["heading"]
    if key == "community_posts":
        label = head.replace(" ", NB) if noise else head
        h = (f'<h2 class="flex items-center gap-3 text-lg font-semibold">{rx(label)}'
             f'<a class="rounded-full border border-indigo-600 px-3 py-0.5 text-xs font-semibold text-indigo-600 hover:bg-indigo-50" href="/join">Join</a></h2>')
        items = "".join(next_post(q, noise) for q in s["items"])
        lst = f'<ul class="mt-4 grid gap-3">{items}</ul>' if items else ""
    else:
        if head is None:
            h = ""
        elif noise and key == "cited_research":
            # responsive duplicate: the same label twice in the DOM
            h = (f'<h2 class="text-base font-semibold md:hidden">{rx(head)}</h2>'
                 f'<h2 class="hidden text-lg font-semibold md:block">{rx(head)}</h2>')
        else:
            label = head.replace(" ", NB) if noise else head
            h = f'<h2 class="text-lg font-semibold">{rx(label)}</h2>'
        items = "".join(next_entry(e, i, noise) for i, e in enumerate(s["items"]))
        lst = f'<ul class="mt-4 grid gap-3 sm:grid-cols-2">{items}</ul>' if items else ""
    sid = {"cited_research": "cited", "community_posts": "community", "related_research": "related"}[key]
    return (f'<section id="{sid}" class="StudySection_root__8fKcQ mt-12 scroll-mt-20">'
            f'<div class="flex items-center justify-between">{h}</div>{next_count(s["count"], noise)}{lst}</section>')


def render_next(p):
    noise = p["noise"]
    url = page_url(p)
    build_id = "tRz" + h8("build", n=18)
    chunk = lambda name: h8(name, p["stack"], n=16)
    title_vis = (ZW + p["title"].replace("2% Shampoo", "2%" + NB + "Shampoo")) if noise else p["title"]

    # date + venue line
    dl = ""
    if p["date"]:
        m, y = p["date"].split()
        sep = NB if noise else " "
        dl = f"<span>{m}<!-- -->{sep}<!-- -->{y}</span>"
        if p["venue"]:
            q = "“ " if p["venue_space"] else "“"
            ven = rx(p["venue"]) + (ZW if noise else "")
            dl += f"<span>in {q}<!-- -->{ven}</span>"
        if noise:
            dl += '<span class="text-slate-400">undefined</span>'
        dl = f'<div class="mt-3 flex flex-wrap items-center gap-x-1 text-sm text-slate-500">{dl}</div>'

    # authors: either one joined text node or spans with ", " between them
    if noise:
        names = [rx(a) + (ZW if i == 0 else "") for i, a in enumerate(p["authors"])]
        au = ", ".join(names)
    else:
        au = ", ".join(f"<span>{rx(a)}</span>" for a in p["authors"])
    au = f'<div class="StudyPage_authors__Pq1sD mt-1 text-sm font-medium text-slate-700">{au}</div>'

    img = ""
    if p["image"]:
        img = (f'<div class="relative mt-6 aspect-[16/9] w-full overflow-hidden rounded-2xl bg-slate-100">'
               f'<img alt="Image of study" loading="lazy" decoding="async" data-nimg="fill" class="object-cover" '
               f'style="position:absolute;height:100%;width:100%;left:0;top:0;right:0;bottom:0;color:transparent" '
               f'src="{rx(p["image"])}"/></div>')
    tl = ""
    if p["tldr"]:
        dup = '<b class="sr-only">TLDR</b>' if noise else ""
        tl = (f'<div class="mt-6 rounded-xl bg-indigo-50 p-4"><p class="text-[15px] leading-relaxed text-slate-800">'
              f'<b class="mr-2 font-semibold text-indigo-700">TLDR</b>{dup}{rx(p["tldr"])}</p></div>')
    summ = f'<p class="mt-5 whitespace-pre-line leading-7 text-slate-700">{rx(p["summary"])}</p>'

    links = []
    for which in p["link_order"]:
        if which == "discuss":
            links.append(f'<a class="inline-flex items-center gap-1 text-indigo-600 hover:underline" href="{rx(p["discuss"])}">'
                         f"Discuss this study in the Community<!-- --> →</a>")
        else:
            v = p["view"]
            href = f' href="{rx(v["href"])}"' if v["href"] else ""
            links.append(f'<a class="inline-flex items-center gap-1 text-slate-600 hover:underline"{href} target="_blank" rel="noopener noreferrer">'
                         f'View this study on <!-- -->{rx(v["host"])}<!-- --> →</a>')
    linkrow = f'<div class="mt-6 flex flex-wrap gap-x-6 gap-y-2 text-sm font-medium">{"".join(links)}</div>' if links else ""

    sections = "".join(next_section(p, s) for s in p["sections"])

    page_props = {
        "study": {
            "id": p["id"], "slug": f"{p['slug']}-{p['id']}", "title": p["title"],
            "publishedAt": (ym(p["date"]) + "-01T00:00:00.000Z") if p["date"] else None,
            "journal": p["venue"], "authorCount": len(p["authors"]),
            "hasImage": bool(p["image"]),
            "citedIds": [e["id"] for s in p["sections"] if s["key"] == "cited_research" for e in s["items"]],
            "relatedIds": [e["id"] for s in p["sections"] if s["key"] == "related_research" for e in s["items"]],
        },
        "session": None,
        "_sentryTraceData": h8("trace", p["id"], n=32) + "-" + h8("span", p["id"], n=16) + "-0",
    }
    next_data = {"props": {"pageProps": page_props, "__N_SSP": True}, "page": "/research/[slug]",
                 "query": {"slug": f"{p['slug']}-{p['id']}"}, "buildId": build_id, "isFallback": False,
                 "gssp": True, "scriptLoader": []}

    head = (
        '<meta charSet="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f'<title>{rx(p["title"])} | Tressless</title>'
        f'<meta name="description" content="{rx(desc_of(p))}"/>'
        f'<link rel="canonical" href="{url}"/>'
        '<meta property="og:site_name" content="Tressless"/><meta property="og:type" content="article"/>'
        f'<meta property="og:title" content="{rx(p["title"])}"/><meta property="og:url" content="{url}"/>'
        + (f'<meta property="og:image" content="{rx(p["image"])}"/>' if p["image"] else
           '<meta property="og:image" content="https://tressless.com/og/default-research.png"/>')
        + '<meta name="twitter:card" content="summary_large_image"/><meta name="twitter:site" content="@tressless"/>'
        '<link rel="icon" href="/favicon.ico"/><link rel="apple-touch-icon" href="/apple-touch-icon.png"/>'
        '<meta name="theme-color" content="#4f46e5"/><meta name="next-head-count" content="16"/>'
        '<link rel="preload" href="/_next/static/media/a34f9d1faa5f3315-s.p.woff2" as="font" type="font/woff2" crossorigin="anonymous" data-next-font="size-adjust"/>'
        f'<link rel="preload" href="/_next/static/css/{chunk("css")}.css" as="style"/>'
        f'<link rel="stylesheet" href="/_next/static/css/{chunk("css")}.css" data-n-g=""/>'
        '<noscript data-n-css=""></noscript>'
        f'<script defer="" nomodule="" src="/_next/static/chunks/polyfills-{chunk("poly")}.js"></script>'
        f'<script src="/_next/static/chunks/webpack-{chunk("webpack")}.js" defer=""></script>'
        f'<script src="/_next/static/chunks/framework-{chunk("framework")}.js" defer=""></script>'
        f'<script src="/_next/static/chunks/main-{chunk("main")}.js" defer=""></script>'
        f'<script src="/_next/static/chunks/pages/_app-{chunk("app")}.js" defer=""></script>'
        f'<script src="/_next/static/chunks/pages/research/%5Bslug%5D-{chunk("page")}.js" defer=""></script>'
        f'<script src="/_next/static/{build_id}/_buildManifest.js" defer=""></script>'
        f'<script src="/_next/static/{build_id}/_ssgManifest.js" defer=""></script>'
        '<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({"gtm.start":new Date().getTime(),event:"gtm.js"});'
        'var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src="https://www.googletagmanager.com/gtm.js?id="+i;'
        'f.parentNode.insertBefore(j,f);})(window,document,"script","dataLayer","GTM-T7R3SS");</script>'
    )
    header = (
        '<header class="sticky top-0 z-40 border-b border-slate-200 bg-white/90 backdrop-blur">'
        '<div class="mx-auto flex h-14 max-w-6xl items-center justify-between px-4">'
        '<a class="flex items-center gap-2" href="/"><img alt="Tressless logo" loading="lazy" width="28" height="28" decoding="async" data-nimg="1" style="color:transparent" src="/_next/static/media/logo.6c1f0e2a.svg"/>'
        '<span class="text-lg font-bold tracking-tight">Tressless</span></a>'
        '<nav class="hidden items-center gap-6 text-sm font-medium text-slate-600 md:flex">'
        '<a class="text-indigo-600" href="/research">Research</a><a class="hover:text-indigo-600" href="/learn">Learn</a>'
        '<a class="hover:text-indigo-600" href="/community">Community</a><a class="hover:text-indigo-600" href="/tools/regimen-builder">Tools</a></nav>'
        '<div class="flex items-center gap-2">'
        '<button type="button" aria-label="Search" class="rounded-full p-2 hover:bg-slate-100"><svg xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" class="h-5 w-5"><path stroke-linecap="round" stroke-linejoin="round" d="m21 21-5.197-5.197m0 0A7.5 7.5 0 1 0 5.196 5.196a7.5 7.5 0 0 0 10.607 10.607Z"></path></svg></button>'
        '<a class="hidden text-sm font-medium text-slate-600 sm:block" href="/login">Log in</a>'
        '<a class="rounded-full bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500" href="/join">Join</a>'
        '</div></div></header>'
    )
    crumbs = ('<nav aria-label="Breadcrumb" class="mb-4 flex items-center gap-1 text-xs text-slate-400">'
              '<a class="hover:text-slate-600" href="/research">Research</a><span>/</span>'
              '<span class="truncate">Study</span></nav>')
    main = (
        '<main class="mx-auto w-full max-w-3xl flex-1 px-4 pb-24 pt-8">'
        f'{crumbs}<article class="StudyPage_root__k3J9a">'
        f'<h1 class="StudyPage_title__x7Yq2 text-2xl font-bold leading-tight tracking-tight text-slate-900 md:text-[2rem]">{rx(title_vis)}</h1>'
        f'{dl}{au}{img}{tl}{summ}{linkrow}{sections}</article>'
        '<aside class="mt-16 rounded-2xl bg-slate-50 p-6"><p class="text-sm font-semibold text-slate-900">Get weekly research summaries</p>'
        '<form class="mt-3 flex gap-2"><input type="email" placeholder="you@example.com" class="min-w-0 flex-1 rounded-lg border border-slate-300 px-3 py-2 text-sm"/>'
        '<button type="submit" class="rounded-lg bg-slate-900 px-4 py-2 text-sm font-semibold text-white">Subscribe</button></form></aside>'
        '</main>'
    )
    footer = (
        '<footer class="border-t border-slate-200 bg-slate-50"><div class="mx-auto grid max-w-6xl gap-8 px-4 py-12 text-sm text-slate-500 md:grid-cols-4">'
        '<div><p class="font-semibold text-slate-900">Tressless</p><p class="mt-2">Hair loss research, summarised for everyone.</p></div>'
        '<div><p class="font-semibold text-slate-900">Learn</p><ul class="mt-2 space-y-1"><li><a href="/learn/finasteride">Finasteride</a></li>'
        '<li><a href="/learn/minoxidil">Minoxidil</a></li><li><a href="/learn/minoxidil/how-oral-minoxidil-works-b7Qe2">How oral minoxidil works</a></li></ul></div>'
        '<div><p class="font-semibold text-slate-900">Research</p><ul class="mt-2 space-y-1"><li><a href="/search/research/finasteride/1">Finasteride studies</a></li>'
        '<li><a href="/search/alopecia-areata">Alopecia areata</a></li></ul></div>'
        '<div><p class="font-semibold text-slate-900">Company</p><ul class="mt-2 space-y-1"><li><a href="/about">About</a></li>'
        '<li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></div></div>'
        '<p class="pb-8 text-center text-xs text-slate-400">© 2025 Tressless. Not medical advice.</p></footer>'
    )
    body = (f'<div id="__next"><div class="__className_5c8f1a flex min-h-screen flex-col bg-white text-slate-900 antialiased">'
            f"{header}{main}{footer}</div></div>"
            f'<script id="__NEXT_DATA__" type="application/json">{jx(next_data)}</script>')
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body>{body}</body></html>'


# ================================================================================================ CMS theme
def wp(s):
    """WordPress-style text: escaped, typographic characters as numeric entities."""
    s = html.escape(s, quote=False)
    for ch, ent in (("“", "&#8220;"), ("”", "&#8221;"), ("’", "&#8217;"), ("–", "&#8211;"), ("—", "&#8212;"),
                    ("→", "&rarr;"), (NB, "&nbsp;")):
        s = s.replace(ch, ent)
    return s


def wa(s):
    return html.escape(s, quote=True)


CMS_CATS = {"Chat": "chat", "Research/Science": "research-science", "Treatment": "treatment", "Female": "female",
            "Minoxidil": "minoxidil", "Finasteride/Dutasteride": "finasteride-dutasteride",
            "Progress Pictures": "progress-pictures", "Technology": "technology"}


def cms_entry(e, ind="\t\t\t\t"):
    bits = []
    if e.get("cit_glitch"):
        bits.append(f"{e['cit_glitch']} citations")
    elif e["citations"] is not None:
        bits.append(f"{e['citations']} citations")
    meta = ", ".join(bits)
    if e["date"]:
        meta = (meta + ", " if meta else "") + e["date"]
    venue = e.get("venue_glitch") or e["venue"]
    if venue:
        meta = (meta + " " if meta else "") + f"in “{venue}”"
    out = [f'{ind}<li class="research-item">']
    if e.get("glitch_before"):
        out = [f"{ind}[object Object]", f'{ind}<li class="research-item">']
    out.append(f'{ind}\t<h3 class="research-item__title"><a href="{wa(entry_url(e))}">{wp(e["title"])}</a></h3>')
    if meta:
        out.append(f'{ind}\t<p class="research-item__meta">{wp(meta)}</p>')
    if e["tldr"]:
        out.append(f'{ind}\t<p class="research-item__tldr">{wp(e["tldr"])}</p>')
    out.append(f"{ind}</li>")
    return "\n".join(out)


def cms_post(q, ind="\t\t\t\t"):
    cat = q.get("cat_glitch") or q["category"]
    up = q.get("upv_glitch") or q["upvotes"]
    meta = ""
    if cat:
        slug = CMS_CATS.get(cat, "uncategorized")
        meta += f'in <a href="https://tressless.com/community/c/{slug}/" rel="category tag">{wp(cat)}</a>&nbsp; '
    else:
        meta += "&nbsp;"
    if up is not None:
        meta += f"{up} upvotes "
    meta += wp(q["age"])
    out = [f'{ind}<li class="community-card">',
           f'{ind}\t<span class="badge badge--community">community</span> <a class="community-card__title" href="{wa(post_url(q))}">{wp(q["title"])}</a>',
           f'{ind}\t<div class="community-card__meta">{meta}</div>']
    if q["summary"]:
        out.append(f'{ind}\t<p class="community-card__excerpt">{wp(q["summary"])}</p>')
    out.append(f"{ind}</li>")
    return "\n".join(out)


def cms_count(c):
    v = count_visible(c)
    if v is None:
        return ""
    out = f'\t\t\t<p class="results-count">{wp(v)}</p>\n'
    if c[0] == "zero":
        out += '\t\t\t<p class="no-results">&#8212; no results</p>\n'
    return out


TRENDING = [("Low-dose oral minoxidil and blood pressure in normotensive men", "low-dose-oral-minoxidil-blood-pressure-normotensive-men-Nv2c"),
            ("Finasteride and mood: a population-based cohort", "finasteride-and-mood-population-based-cohort-Qd9f"),
            ("Caffeine topical solution versus minoxidil 5% in men", "caffeine-topical-solution-versus-minoxidil-men-w3Lr")]


def render_cms(p):
    noise = p["noise"]
    url = page_url(p)
    post_no = int(h8("post", p["id"], n=4), 16) % 9000 + 1000
    title_vis = (p["title"] + ZW) if noise else p["title"]
    title_html = p.get("title_html") or wp(title_vis)
    year = p["date"].split()[1] if p["date"] else "2018"
    uploads_prefix = f"https://tressless.com/wp-content/uploads/{year}/"

    # ---- entry header
    meta = ""
    if p["date"]:
        m, y = p["date"].split()
        sep = "&nbsp;" if noise else " "
        meta = (f'\t\t\t\t<div class="entry-meta"><span class="posted-on"><time class="entry-date published" '
                f'datetime="{y}-{MONTHS.index(m) + 1:02d}-01T00:00:00+00:00">{m}{sep}{y}</time></span>')
        if p["venue"]:
            q = ("&#8220;&nbsp;" if noise else "&#8220; ") if p["venue_space"] else "&#8220;"
            meta += f' in {q}<span class="journal-name">{wp(p["venue"])}</span>'
        meta += "</div>\n"
    authors = [(ZW + a if (noise and i == 2) else a) for i, a in enumerate(p["authors"])]
    byline = f'\t\t\t\t<div class="entry-authors"><span class="byline">{wp(", ".join(authors))}</span></div>\n'

    thumb = ""
    if p["image"]:
        base = p["image"].rsplit("-1024x576", 1)[0]
        thumb = (f'\t\t\t<div class="post-thumbnail">\n\t\t\t\t<img width="1024" height="576" src="{wa(p["image"])}" '
                 f'class="attachment-large size-large wp-post-image" alt="Image of study" decoding="async" fetchpriority="high" '
                 f'srcset="{wa(p["image"])} 1024w, {wa(base)}-300x169.jpg 300w, {wa(base)}-768x432.jpg 768w" '
                 f'sizes="(max-width: 1024px) 100vw, 1024px" />\t\t\t</div><!-- .post-thumbnail -->\n')
    content = ""
    if p["tldr"]:
        content += f'\t\t\t\t<p class="study-tldr"><strong>TLDR</strong> {wp(p["tldr"])}</p>\n'
    summary = p["summary"]
    if noise:   # editor-pasted no-break spaces
        summary = summary.replace(" mm", NB + "mm").replace("0.25, ", "0.25," + NB)
    content += f"\t\t\t\t<p>{wp(summary)}</p>\n"

    footer_links = ""
    if "discuss" in p["link_order"]:
        footer_links = (f'\t\t\t<footer class="entry-footer">\n\t\t\t\t<a class="discuss-link" href="{wa(abs_url(p["discuss"]))}">'
                        f"Discuss this study in the Community &rarr;</a>\n\t\t\t</footer><!-- .entry-footer -->\n")
    source_nav = ""
    if "view" in p["link_order"]:
        v = p["view"]
        href = f' href="{wa(v["href"])}"' if v["href"] else ""
        host = wp(v["host"])
        source_nav = ('\t\t<nav class="navigation study-source" aria-label="Study source">\n'
                      '\t\t\t<h2 class="screen-reader-text">Study source</h2>\n'
                      f'\t\t\t<div class="nav-links"><a class="source-link"{href} rel="nofollow noopener" target="_blank">'
                      f"View this study on {host} &rarr;</a></div>\n\t\t</nav>\n")

    # ---- sections: cited in main column; community + related in the sidebar (old pages: both lists in main)
    main_sections, aside_sections = "", ""
    for s in p["sections"]:
        key = s["key"]
        if key == "community_posts":
            h = (f'\t\t\t<h2 class="widget-title">{wp(s["heading"])} <a class="button button--small" href="https://tressless.com/join/">Join</a></h2>\n'
                 if s["heading"] else "")
            items = "\n".join(cms_post(q) for q in s["items"])
            lst = f'\t\t\t<ul class="community-list">\n{items}\n\t\t\t</ul>\n' if items else ""
            aside_sections += (f'\t\t<section id="study-community" class="widget widget_study_community">\n{h}'
                               f'{cms_count(s["count"])}{lst}\t\t</section>\n')
            continue
        items = "\n".join(cms_entry(e) for e in s["items"])
        lst = f'\t\t\t<ol class="research-list">\n{items}\n\t\t\t</ol>\n' if items else ""
        if key == "cited_research" or not any(x["key"] == "community_posts" for x in p["sections"]):
            h = f'\t\t\t<h2 class="section-title">{wp(s["heading"])}</h2>\n' if s["heading"] else ""
            cls = "study-cited" if key == "cited_research" else "study-related"
            main_sections += (f'\t\t<section class="study-section {cls}" id="{cls[6:]}">\n{h}'
                              f'{cms_count(s["count"])}{lst}\t\t</section>\n')
        else:
            h = ""
            if s["heading"]:
                h = f'\t\t\t<h2 class="widget-title">{wp(s["heading"])}</h2>\n'
                if noise:   # widget title and the list's own heading: the same label twice
                    h += f'\t\t\t<h3 class="related-research__heading">{wp(s["heading"])}</h3>\n'
            aside_sections += (f'\t\t<section id="study-related" class="widget widget_study_related">\n{h}'
                               f'{cms_count(s["count"])}{lst}\t\t</section>\n')

    trending = "\n".join(f'\t\t\t\t<li><a href="https://tressless.com/research/{slug}">{wp(t)}</a></li>' for t, slug in TRENDING)
    share_count = "undefined" if noise else "14"
    jsonld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": url, "url": url, "name": f"{p['title']} – Tressless",
             "isPartOf": {"@id": "https://tressless.com/#website"},
             "breadcrumb": {"@id": url + "#breadcrumb"}, "inLanguage": "en-US"},
            {"@type": "BreadcrumbList", "@id": url + "#breadcrumb",
             "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Home", "item": "https://tressless.com/"},
                                 {"@type": "ListItem", "position": 2, "name": "Research", "item": "https://tressless.com/research/"},
                                 {"@type": "ListItem", "position": 3, "name": p["title"]}]},
            {"@type": "WebSite", "@id": "https://tressless.com/#website", "url": "https://tressless.com/",
             "name": "Tressless", "publisher": {"@id": "https://tressless.com/#organization"}},
        ],
    }
    og_img = (f'<meta property="og:image" content="{wa(p["image"])}" />\n<meta property="og:image:width" content="1024" />\n'
              f'<meta property="og:image:height" content="576" />\n') if p["image"] else ""
    return f"""<!doctype html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="profile" href="https://gmpg.org/xfn/11">
<meta name='robots' content='index, follow, max-image-preview:large, max-snippet:-1, max-video-preview:-1' />

	<!-- This site is optimized with the Yoast SEO plugin v21.7 - https://yoast.com/wordpress/plugins/seo/ -->
	<title>{wp(p["title"])} &#8211; Tressless</title>
	<meta name="description" content="{wa(desc_of(p))}" />
	<link rel="canonical" href="{url}" />
	<meta property="og:locale" content="en_US" />
	<meta property="og:type" content="article" />
	<meta property="og:title" content="{wa(p["title"])}" />
	<meta property="og:url" content="{url}" />
	<meta property="og:site_name" content="Tressless" />
	{og_img}<meta name="twitter:card" content="summary_large_image" />
	<script type="application/ld+json" class="yoast-schema-graph">{json.dumps(jsonld, ensure_ascii=False)}</script>
	<!-- / Yoast SEO plugin. -->

<link rel='dns-prefetch' href='//fonts.googleapis.com' />
<link rel="alternate" type="application/rss+xml" title="Tressless &raquo; Feed" href="https://tressless.com/feed/" />
<link rel='stylesheet' id='wp-block-library-css' href='https://tressless.com/wp-includes/css/dist/block-library/style.min.css?ver=6.4.2' media='all' />
<link rel='stylesheet' id='tressless-fonts-css' href='https://fonts.googleapis.com/css2?family=Source+Sans+3:wght@400;600;700&#038;display=swap' media='all' />
<link rel='stylesheet' id='tressless-style-css' href='https://tressless.com/wp-content/themes/tressless/style.css?ver=3.2.0' media='all' />
<script src="https://tressless.com/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<script src="https://tressless.com/wp-includes/js/jquery/jquery-migrate.min.js?ver=3.4.1" id="jquery-migrate-js"></script>
<link rel="https://api.w.org/" href="https://tressless.com/wp-json/" /><link rel="alternate" type="application/json" href="https://tressless.com/wp-json/wp/v2/research/{post_no}" />
<link rel='shortlink' href='https://tressless.com/?p={post_no}' />
<link rel="icon" href="{uploads_prefix}01/cropped-favicon-32x32.png" sizes="32x32" />
</head>

<body class="research-template-default single single-research postid-{post_no} wp-custom-logo group-blog">
<div id="page" class="site">
	<a class="skip-link screen-reader-text" href="#primary">Skip to content</a>

	<header id="masthead" class="site-header">
		<div class="site-branding">
			<a href="https://tressless.com/" class="custom-logo-link" rel="home"><img width="180" height="40" src="https://tressless.com/wp-content/uploads/2019/03/tressless-logo.png" class="custom-logo" alt="Tressless" decoding="async" /></a>
			<p class="site-title"><a href="https://tressless.com/" rel="home">Tressless</a></p>
			<p class="site-description">Hair loss research, explained</p>
		</div><!-- .site-branding -->

		<nav id="site-navigation" class="main-navigation" aria-label="Primary menu">
			<button class="menu-toggle" aria-controls="primary-menu" aria-expanded="false">Menu</button>
			<div class="menu-primary-container"><ul id="primary-menu" class="menu">
				<li id="menu-item-21" class="menu-item menu-item-type-post_type_archive current-menu-ancestor menu-item-21"><a href="https://tressless.com/research/">Research</a></li>
				<li id="menu-item-22" class="menu-item menu-item-type-custom menu-item-22"><a href="https://tressless.com/learn/">Learn</a></li>
				<li id="menu-item-23" class="menu-item menu-item-type-custom menu-item-23"><a href="https://tressless.com/community/">Community</a></li>
				<li id="menu-item-24" class="menu-item menu-item-type-custom menu-item-24"><a href="https://tressless.com/search/research/dutasteride/1">Dutasteride</a></li>
				<li id="menu-item-25" class="menu-item menu-item-join menu-item-25"><a href="https://tressless.com/join/">Join</a></li>
				<li id="menu-item-26" class="menu-item menu-item-login menu-item-26"><a href="https://tressless.com/login/">Log in</a></li>
			</ul></div>
		</nav><!-- #site-navigation -->
	</header><!-- #masthead -->

	<div id="content" class="site-content">
		<nav class="breadcrumbs" aria-label="Breadcrumbs"><span><a href="https://tressless.com/">Home</a></span> &raquo; <span><a href="https://tressless.com/research/">Research</a></span> &raquo; <span class="breadcrumb_last" aria-current="page">{wp(p["title"])}</span></nav>

	<div id="primary" class="content-area">
		<main id="main" class="site-main">

		<article id="post-{post_no}" class="post-{post_no} research type-research status-publish{" has-post-thumbnail" if p["image"] else ""} hentry">
			<header class="entry-header">
				<h1 class="entry-title">{title_html}</h1>
{meta}{byline}			</header><!-- .entry-header -->

{thumb}			<div class="entry-content">
{content}			</div><!-- .entry-content -->

{footer_links}			<div class="sharedaddy sd-sharing-enabled"><span class="share-count">{share_count} shares</span> <a class="share-twitter" href="https://twitter.com/intent/tweet?url={url}">Share</a></div>
		</article><!-- #post-{post_no} -->

{source_nav}{main_sections}
		</main><!-- #main -->
	</div><!-- #primary -->

	<aside id="secondary" class="widget-area">
		<section id="custom_html-3" class="widget_text widget widget_custom_html">
			<h2 class="widget-title">Join Tressless</h2>
			<div class="textwidget custom-html-widget"><p>Track your regimen and get the weekly research digest.</p>
			<a class="button" href="https://tressless.com/join/">Join</a> <a href="https://tressless.com/login/">Log in</a></div>
		</section>
{aside_sections}		<section id="trending-3" class="widget widget_trending_research">
			<h2 class="widget-title">Trending on Tressless</h2>
			<ul>
{trending}
			</ul>
		</section>
	</aside><!-- #secondary -->
	</div><!-- #content -->

	<footer id="colophon" class="site-footer">
		<div class="footer-widgets">
			<section class="widget widget_nav_menu"><h2 class="widget-title">Learn</h2><div class="menu-learn-container"><ul class="menu">
				<li><a href="https://tressless.com/learn/finasteride">Finasteride</a></li>
				<li><a href="https://tressless.com/learn/minoxidil">Minoxidil</a></li>
				<li><a href="https://tressless.com/learn/finasteride/finasteride-side-effects-explained-Xk4p9">Finasteride side effects explained</a></li>
			</ul></div></section>
			<section class="widget widget_recent_community"><h2 class="widget-title">Latest from the Community</h2><ul>
				<li><a href="https://tressless.com/community/first-derm-appointment-what-to-ask-p8c2mv">First derm appointment, what to ask?</a></li>
				<li><a href="https://tressless.com/community/weekly-chat-thread-r4w0kd">Weekly chat thread</a></li>
			</ul></section>
		</div>
		<div class="site-info">
			&copy; 2025 Tressless &#8212; summaries are not medical advice. <a href="https://tressless.com/privacy-policy/">Privacy Policy</a>
		</div><!-- .site-info -->
	</footer><!-- #colophon -->
</div><!-- #page -->

<script id="tressless-study-widgets-js-extra">
var tresslessStudy = {{"ajaxUrl":"https:\\/\\/tressless.com\\/wp-admin\\/admin-ajax.php","studyId":"{p["id"]}","nonce":"{h8("nonce", p["id"], n=10)}"}};
</script>
<script src="https://tressless.com/wp-content/themes/tressless/js/navigation.js?ver=3.2.0" id="tressless-navigation-js"></script>
<script src="https://tressless.com/wp-content/plugins/tressless-study-widgets/assets/widgets.js?ver=1.4.2" id="tressless-study-widgets-js"></script>

</body>
</html>
"""


# ================================================================================================ ARIA-first
def ax(s):
    return html.escape(s, quote=False)


def aa(s):
    return html.escape(s, quote=True)


def aria_entry(e, prefix, i, noise):
    eid = f"{prefix}-{i + 1}-title"
    rows = []
    has_date = bool(e["date"])
    cit = e.get("cit_glitch") or e["citations"]
    if cit is not None:
        comma = ", " if has_date else ""
        rows.append(f'<dt class="sr-only">Citations</dt><dd>{cit} citations{comma}</dd>')
    venue = e.get("venue_glitch") or e["venue"]
    pub = ""
    if has_date:
        m, y = e["date"].split()
        pub = f'<time datetime="{y}-{MONTHS.index(m) + 1:02d}">{m} {y}</time>'
    if venue:
        pub += (" " if pub else "") + f"in “<cite>{ax(venue)}</cite>”"
    if pub:
        rows.append(f'<dt class="sr-only">Published</dt><dd>{pub}</dd>')
    meta = f'\n            <dl class="research-card__meta">{"".join(rows)}</dl>' if rows else ""
    tl = f'\n            <p class="research-card__tldr">{ax(e["tldr"])}</p>' if e["tldr"] else ""
    glitch = "[object Object]" if e.get("glitch_before") else ""
    return (f'        <li>{glitch}\n          <article class="research-card" aria-labelledby="{eid}">\n'
            f'            <h3 id="{eid}" class="research-card__title"><a href="/research/{aa(e["slug"])}-{e["id"]}">{ax(e["title"])}</a></h3>'
            f"{meta}{tl}\n          </article>\n        </li>")


def aria_post(q, i, noise):
    pid = f"post-{i + 1}-title"
    rows = []
    cat = q.get("cat_glitch") or q["category"]
    if cat:
        rows.append(f'<dt class="sr-only">Category</dt><dd>in {ax(cat)}</dd>')
    up = q.get("upv_glitch") or q["upvotes"]
    if up is not None:
        sep = NB if noise else " "
        rows.append(f'<dt class="sr-only">Votes</dt><dd>{up}{sep}upvotes</dd>')
    rows.append(f'<dt class="sr-only">Posted</dt><dd>{ax(q["age"])}</dd>')
    summ = f'\n            <p class="post-card__summary">{ax(q["summary"])}</p>' if q["summary"] else ""
    title = q["title"] + (ZW if noise else "")
    return (f'        <li>\n          <article class="post-card" aria-labelledby="{pid}">\n'
            f'            <p class="post-card__badge"><span class="badge badge--community">community</span></p>\n'
            f'            <h3 id="{pid}" class="post-card__title"><a href="/community/{aa(q["slug"])}-{q["id"]}">{ax(title)}</a></h3>\n'
            f'            <dl class="post-card__meta">{"".join(rows)}</dl>{summ}\n          </article>\n        </li>')


def aria_count(c, noise):
    v = count_visible(c)
    if v is None:
        return ""
    kind = c[0]
    if kind == "std":
        sr = f"Showing {c[1]} of {c[2]} results"
    elif kind == "plus":
        sr = f"Showing {c[1]} of NaN results" if noise else f"Showing {c[1]} of more than {c[2].rstrip('+')} results"
    elif kind == "nototal":
        sr = f"Showing {c[1]} results, total unknown"
    elif kind == "nores":
        sr = f"Showing {c[1]} results"
    else:
        sr = "No results"
    vis = v.replace(" ", NB) if noise else v
    out = (f'      <p class="results__count"><span aria-hidden="true">{ax(vis)}</span>'
           f'<span class="sr-only">{ax(sr)}</span></p>\n')
    if kind == "zero":
        out += '      <p class="results__empty" role="status">— no results</p>\n'
    return out


def render_aria(p):
    noise = p["noise"]
    url = page_url(p)
    asset = h8("assets", p["stack"], n=8)
    ids = {"cited_research": "cited", "community_posts": "posts", "related_research": "related"}

    facts = []
    if p["date"]:
        m, y = p["date"].split()
        line = f'<time datetime="{y}-{MONTHS.index(m) + 1:02d}">{m} {y}</time>'
        if p["venue"]:
            q = "“ " if p["venue_space"] else "“"
            line += f" in {q}<cite>{ax(p['venue'])}</cite>"
        facts.append(f'        <div class="study-facts__row"><dt class="sr-only">Published</dt><dd>{line}</dd></div>')
    names = []
    for i, a in enumerate(p["authors"]):
        sep = '<span aria-hidden="true">, </span>' if i < len(p["authors"]) - 1 else ""
        names.append(f"<li>{ax(a)}{sep}</li>")
    facts.append('        <div class="study-facts__row"><dt class="sr-only">Authors</dt><dd>'
                 f'<ul role="list" class="author-list">{"".join(names)}</ul></dd></div>')
    facts = "\n".join(facts)

    fig = ""
    if p["image"]:
        base = p["image"].rsplit("-1200", 1)[0]
        fig = ('      <figure class="study-figure">\n        <picture>\n'
               f'          <source type="image/avif" srcset="{aa(base)}-600.avif 600w, {aa(base)}-1200.avif 1200w" sizes="(min-width: 48rem) 44rem, 100vw">\n'
               f'          <img src="{aa(p["image"])}" alt="Image of study" width="1200" height="675" loading="lazy" decoding="async">\n'
               '        </picture>\n      </figure>\n')
    tl = ""
    if p["tldr"]:
        pre = '<span class="sr-only">TLDR: </span>' if noise else ""
        tl = ('      <section class="tldr" aria-labelledby="tldr-label">\n'
              '        <h2 id="tldr-label" class="tldr__label">TLDR</h2>\n'
              f'        <p class="tldr__text">{pre}{ax(p["tldr"])}</p>\n      </section>\n')
    summ = f'      <div class="study-summary">\n        <p>{ax(p["summary"])}</p>\n      </div>\n'

    links = []
    for which in p["link_order"]:
        if which == "discuss":
            links.append(f'          <li><a class="study-links__discuss" href="{aa(p["discuss"])}">Discuss this study in the Community '
                         '<span aria-hidden="true">→</span></a></li>')
        else:
            v = p["view"]
            href = f' href="{aa(v["href"])}"' if v["href"] else ""
            links.append(f'          <li><a class="study-links__source"{href} target="_blank" rel="noopener">View this study on {ax(v["host"])} '
                         '<span aria-hidden="true">→</span><span class="sr-only"> (opens in a new tab)</span></a></li>')
    linknav = ('      <nav class="study-links" aria-label="Study links">\n        <ul role="list">\n'
               + "\n".join(links) + "\n        </ul>\n      </nav>\n") if links else ""

    secs = []
    for s in p["sections"]:
        key = s["key"]
        sid = ids[key]
        hid = f"{sid}-heading"
        if s["heading"]:
            pre = '<span class="sr-only">Section: </span>' if (noise and key == "cited_research") else ""
            h = f'        <h2 id="{hid}">{pre}{ax(s["heading"])}</h2>\n'
        else:
            h = ""
        if key == "community_posts":
            hdr = (f'      <div class="results__header">\n{h}'
                   f'        <a class="button button--small" href="/join" aria-describedby="{hid}">Join</a>\n      </div>\n')
            items = "\n".join(aria_post(q, i, noise) for i, q in enumerate(s["items"]))
            lst = (f'      <ul role="list" class="post-list" aria-labelledby="{hid}">\n{items}\n      </ul>\n') if items else ""
        else:
            hdr = f'      <div class="results__header">\n{h}      </div>\n'
            items = "\n".join(aria_entry(e, sid, i, noise) for i, e in enumerate(s["items"]))
            lst = (f'      <ol role="list" class="research-list" aria-labelledby="{hid}">\n{items}\n      </ol>\n') if items else ""
        label = f' aria-labelledby="{hid}"' if s["heading"] else ' aria-label="More research"'
        secs.append(f'    <section class="results results--{sid}"{label}>\n{hdr}{aria_count(s["count"], noise)}{lst}    </section>\n')
    secs = "".join(secs)

    live = ('    <div class="toast" role="status" aria-live="polite">undefined</div>\n' if noise else
            '    <div class="toast" role="status" aria-live="polite"></div>\n')
    ld = {"@context": "https://schema.org", "@type": "ScholarlyArticle", "headline": p["title"], "url": url,
          "author": [{"@type": "Person", "name": a} for a in p["authors"]],
          "publisher": {"@type": "Organization", "name": "Tressless"}}
    if p["date"]:
        ld["datePublished"] = ym(p["date"])
    if p["image"]:
        ld["image"] = p["image"]
    return f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{ax(p["title"])} · Tressless Research</title>
  <meta name="description" content="{aa(desc_of(p))}">
  <link rel="canonical" href="{url}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{aa(p["title"])}">
  <meta property="og:url" content="{url}">
  {f'<meta property="og:image" content="{aa(p["image"])}">' if p["image"] else '<meta name="robots" content="max-image-preview:standard">'}
  <meta name="color-scheme" content="light dark">
  <link rel="preload" href="/assets/fonts/atkinson-hyperlegible-400.{asset}.woff2" as="font" type="font/woff2" crossorigin>
  <link rel="stylesheet" href="/assets/site.{asset}.css">
  <script type="module" src="/assets/app.{h8("app", p["stack"], n=8)}.js"></script>
  <script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
</head>
<body class="page page--study">
  <a class="skip-link" href="#main-content">Skip to main content</a>
  <header role="banner" class="site-header">
    <a class="brand" href="/" aria-label="Tressless home"><svg aria-hidden="true" focusable="false" width="28" height="28" viewBox="0 0 28 28"><circle cx="14" cy="14" r="12"></circle></svg><span class="brand__name">Tressless</span></a>
    <nav role="navigation" aria-label="Main">
      <ul role="list" class="main-nav">
        <li><a href="/research" aria-current="page">Research</a></li>
        <li><a href="/learn">Learn</a></li>
        <li><a href="/community">Community</a></li>
      </ul>
    </nav>
    <div class="account-actions">
      <a href="/login">Log in</a>
      <a class="button" href="/join">Join</a>
    </div>
    <form role="search" class="site-search" action="/search/research" method="get"><label for="q" class="sr-only">Search research</label><input id="q" name="q" type="search" placeholder="Search studies"><button type="submit"><span class="sr-only">Search</span><svg aria-hidden="true" focusable="false" width="16" height="16"></svg></button></form>
  </header>
  <nav role="navigation" aria-label="Breadcrumb" class="breadcrumb">
    <ol role="list"><li><a href="/">Home</a></li><li><a href="/research">Research</a></li><li><span aria-current="page">Study</span></li></ol>
  </nav>
  <main id="main-content" role="main" tabindex="-1">
{live}    <div role="article" class="study" aria-labelledby="study-title">
      <h1 id="study-title" class="study__title">{ax(p["title"])}</h1>
      <dl class="study-facts">
{facts}
      </dl>
{fig}{tl}{summ}{linknav}    </div>
{secs}  </main>
  <footer role="contentinfo" class="site-footer">
    <nav role="navigation" aria-label="Footer">
      <ul role="list">
        <li><a href="/learn/minoxidil">Minoxidil guide</a></li>
        <li><a href="/learn/finasteride/does-finasteride-stop-working-Tz8q1">Does finasteride stop working?</a></li>
        <li><a href="/search/research/minoxidil/2">More minoxidil research</a></li>
        <li><a href="/accessibility">Accessibility statement</a></li>
        <li><a href="/privacy">Privacy</a></li>
      </ul>
    </nav>
    <p><small>© 2025 Tressless. Summaries are generated from published abstracts and are not medical advice.</small></p>
  </footer>
  <script>document.documentElement.classList.add("js");</script>
</body>
</html>
"""


RENDER = {"nextjs-tailwind": render_next, "cms-theme": render_cms, "aria-first": render_aria}


def main():
    for p in PAGES:
        d = os.path.join(HERE, p["stack"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, p["name"] + ".html"), "w", encoding="utf-8") as f:
            f.write(RENDER[p["stack"]](p))
        with open(os.path.join(d, p["name"] + ".json"), "w", encoding="utf-8") as f:
            json.dump(truth(p), f, ensure_ascii=False, indent=2)
            f.write("\n")
        print(p["stack"], p["name"], page_url(p))


if __name__ == "__main__":
    main()
