"""The replica's vocabulary: landmark texts the site shows, and word lists for generated prose.

Landmarks (labels, headings, link texts) are the real site's, the ones `scraper.landmarks` reads;
every other word is generic hair-loss research vocabulary combined by templates in `prose.py`. No
sentence of the real site is copied: names, titles and summaries are all generated from these lists.
"""

from __future__ import annotations

from typing import Final

from scraper.records import SectionKey

SITE_NAME: Final = "Tressless"
MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
FIRST_YEAR: Final = 1990
LAST_YEAR: Final = 2025

# --- Landmark texts (what a reader sees) -------------------------------------------------------
IMAGE_ALT: Final = "Image of study"
TLDR_LABEL: Final = "TLDR"
ARROW: Final = "→"
DISCUSS_TEXT: Final = "Discuss this study in the Community"
VIEW_ON_TEXT: Final = "View this study on"
OPEN_QUOTE: Final = "“"
CLOSE_QUOTE: Final = "”"
JOIN_TEXT: Final = "Join"
COMMUNITY_BADGE: Final = "community"
GLITCH_TEXT: Final = "[object Object]"
NO_RESULTS_TAIL: Final = "— no results"
NO_RESULTS_TOKEN: Final = "NoResults"
LOWER_BOUND_TOKEN: Final = "1000+"
LOWER_BOUND_TOTAL: Final = 1000
RESEARCH_HIGHLIGHTS: Final = "Research Highlights: "

# Section headings per generation; "related" has two newer spellings with the same meaning.
OLD_HEADINGS: Final[dict[SectionKey, tuple[str, ...]]] = {
    "cited_research": ("Cited in this study",),
    "community_posts": ("Related Community Posts",),
    "related_research": ("Related",),
}
NEW_HEADINGS: Final[dict[SectionKey, tuple[str, ...]]] = {
    "cited_research": ("Research cited in this study",),
    "community_posts": ("Related Community Posts",),
    "related_research": ("Related Research", "Similar Research"),
}
MAX_CARDS_SHOWN: Final = 6

# --- Community ------------------------------------------------------------------------------
CATEGORIES: Final = (
    "Chat",
    "Research/Science",
    "Treatment",
    "Female",
    "Minoxidil",
    "Finasteride/Dutasteride",
    "Progress Pictures",
    "Technology",
)

# --- Venues and publisher hosts ---------------------------------------------------------------
VENUES: Final = (
    "Dermatologic Therapy",
    "Journal of Investigative Dermatology",
    "Journal of the American Academy of Dermatology",
    "British Journal of Dermatology",
    "Journal of Cosmetic Dermatology",
    "Experimental Dermatology",
    "International Journal of Trichology",
    "Skin Appendage Disorders",
    "PubMed",
    "JAMA Dermatology",
    "Dermatology and Therapy",
    "Frontiers in Medicine",
    "Scientific Reports",
    "PLoS ONE",
    "Journal of Dermatological Treatment",
    "International Journal of Molecular Sciences",
    "Archives of Dermatological Research",
    "Clinical, Cosmetic and Investigational Dermatology",
    "Journal of Drugs in Dermatology",
    "Cell Stem Cell",
)
# host -> href template; `{a}` .. `{c}` are filled with digits.
HOSTS: Final = {
    "onlinelibrary.wiley.com": "https://onlinelibrary.wiley.com/doi/10.1111/dth.{a}",
    "academic.oup.com": "https://academic.oup.com/bjd/article/{b}/{c}/{a}",
    "pubmed.ncbi.nlm.nih.gov": "https://pubmed.ncbi.nlm.nih.gov/{a}{b}",
    "doi.org": "https://doi.org/10.{c}/jocd.{a}",
    "link.springer.com": "https://link.springer.com/article/10.1007/s13555-0{b}-0{a}",
    "www.sciencedirect.com": "https://www.sciencedirect.com/science/article/pii/S0190962{a}",
    "www.mdpi.com": "https://www.mdpi.com/1422-0067/{b}/{c}/{a}",
    "www.frontiersin.org": "https://www.frontiersin.org/articles/10.3389/fmed.20{b}.{a}",
    "jamanetwork.com": "https://jamanetwork.com/journals/jamadermatology/fullarticle/{a}",
    "www.nature.com": "https://www.nature.com/articles/s41598-0{b}-{a}-{c}",
}

# --- Research words -------------------------------------------------------------------------
DRUGS: Final = (
    "finasteride",
    "dutasteride",
    "minoxidil",
    "oral minoxidil",
    "topical finasteride",
    "spironolactone",
    "baricitinib",
    "tofacitinib",
    "ritlecitinib",
    "ketoconazole shampoo",
    "latanoprost",
    "clascoterone",
    "pyrilutamide",
    "platelet-rich plasma",
    "low-level laser therapy",
    "microneedling",
    "valproic acid",
    "topical caffeine",
    "melatonin",
    "bicalutamide",
)
CONDITIONS: Final = (
    "androgenetic alopecia",
    "alopecia areata",
    "female pattern hair loss",
    "male pattern baldness",
    "telogen effluvium",
    "frontal fibrosing alopecia",
    "lichen planopilaris",
    "chemotherapy-induced alopecia",
    "alopecia totalis",
    "traction alopecia",
)
# Targets carry the site's typography: β, 5α, an en dash and a U+2010 hyphen.
TARGETS: Final = (
    "dermal papilla cells",
    "hair follicle stem cells",
    "Wnt/β-catenin signalling",
    "5α-reductase type 2",
    "JAK–STAT signalling",
    "TGF‐β1 expression",
    "androgen receptor activity",
    "prostaglandin D2 levels",
    "the anagen phase",
    "perifollicular inflammation",
    "the scalp microbiome",
    "dihydrotestosterone levels",
    "JAK inhibitors",
    "vitamin D2 receptors",
)
POPULATIONS: Final = (
    "men",
    "women",
    "adolescents",
    "postmenopausal women",
    "pediatric patients",
    "Korean men",
    "Brazilian adults",
    "mice",
    "C57BL/6 mice",
    "healthy volunteers",
    "transplant recipients",
    "older adults",
)
DESIGNS: Final = (
    "A Randomized Controlled Trial",
    "A Systematic Review and Meta-Analysis",
    "A Retrospective Cohort Study",
    "A Pilot Study",
    "A Case Series",
    "An Open-Label Trial",
    "A Cross-Sectional Survey",
    "A Double-Blind, Placebo-Controlled Trial",
    "An FDA Adverse Event Analysis",
)
OUTCOMES: Final = (
    "hair density",
    "terminal hair counts",
    "hair shaft thickness",
    "regrowth scores",
    "shedding",
    "SALT scores",
    "the anagen-to-telogen ratio",
    "patient satisfaction",
)
EFFECTS: Final = (
    "improved",
    "modestly increased",
    "did not change",
    "significantly raised",
    "reduced",
    "stabilised",
)
METHODS: Final = (
    "phototrichograms",
    "global photographs",
    "scalp biopsies",
    "trichoscopy",
    "quantitative PCR",
    "immunohistochemistry",
    "a validated questionnaire",
)
ADVERSE: Final = (
    "mild and transient",
    "rare",
    "comparable to placebo",
    "mostly limited to scalp irritation",
    "reported by about one in ten participants",
)
LIMITATIONS: Final = (
    "the sample was small",
    "follow-up was short",
    "there was no placebo group",
    "most participants were of one ethnicity",
    "adherence was self-reported",
    "the dose varied between sites",
)
TITLE_TAILS: Final = (
    "with a Focus on Long-Term Safety",
    "and Its Implications for Clinical Practice",
    "in a Multicentre Setting over Twenty-Four Months",
    "Compared with Standard Topical Regimens",
    "Including Subgroup Analyses by Age, Sex and Baseline Severity",
    "Using Trichoscopic and Histological Endpoints",
    "and the Role of Genetic Polymorphisms",
)
SHORT_TITLES: Final = (
    "Finasteride FAQ",
    "Hair Loss in Women",
    "Minoxidil Revisited",
    "JAK Inhibitor Update",
    "Alopecia in Children",
    "Alopecia Today",
)

# --- People -----------------------------------------------------------------------------------
FIRST_NAMES: Final = (
    "Laura",
    "Marco",
    "Hiroshi",
    "Aylin",
    "Pedro",
    "Sofia",
    "Chen",
    "Ravi",
    "Anna",
    "Tomasz",
    "Fatima",
    "Jonas",
    "Mei",
    "Emre",
    "Ingrid",
    "Kwame",
    "Noor",
    "Diego",
    "Yuki",
    "Elena",
)
ACCENTED_FIRST_NAMES: Final = (
    "José",
    "Zoë",
    "Ülkü",
    "Renée",
    "Åsa",
    "Łukasz",
    "Çağrı",
    "Inês",
    "Søren",
    "Dóra",
    "Małgorzata",
    "Jérôme",
)
LAST_NAMES: Final = (
    "Moreau",
    "Tanaka",
    "Okafor",
    "Lindqvist",
    "Nakamura",
    "Ferreira",
    "Kowalski",
    "Haddad",
    "Novak",
    "Rossi",
    "Park",
    "Singh",
    "Yilmaz",
    "Becker",
    "Costa",
    "Dubois",
    "Kim",
    "Ahmed",
    "Olsen",
    "Varga",
)
ACCENTED_LAST_NAMES: Final = (
    "Gómez",
    "Müller",
    "Şahin",
    "Núñez",
    "Øvergaard",
    "Kovačević",
    "Dvořák",
    "Sánchez",
    "Björk",
    "Ibáñez",
    "Erdoğan",
    "Lévesque",
    "Peñalba",
    "Quirós",
)
CYRILLIC_FIRST_NAMES: Final = ("Ольга", "Иван", "Мария", "Дмитрий", "Анна", "Сергей", "Елена")
CYRILLIC_LAST_NAMES: Final = ("Петрова", "Соколов", "Волкова", "Орлов", "Лебедева", "Козлов")
INITIALS: Final = ("J.C.", "A.", "M.-L.", "K.", "S.Y.", "R.")
TRAILING_INITIALS: Final = ("Tw", "SY", "JH", "M", "Ak")
HYPHEN: Final = "\u2010"  # U+2010 HYPHEN, as in double-barrelled names on the site

# --- Community post words -------------------------------------------------------------------
POST_TITLE_TEMPLATES: Final = (
    "Anyone tried {drug} together with {drug2}?",
    "{n} months on {drug}: progress and thoughts",
    "New paper on {target} looks promising",
    "Is {drug} worth it for {condition}?",
    "My side effects from {drug} faded after {n} weeks",
    "Question about {target} and shedding",
    "Dermatologist suggested {drug}, thoughts?",
    "Switching from {drug} to {drug2}",
)
POST_SENTENCES: Final = (
    "I started {drug} about {n} months ago after my dermatologist confirmed {condition}.",
    "Shedding was heavy during the first weeks but settled down afterwards.",
    "My crown looks denser in daylight photos, although the hairline has not moved much.",
    "Has anyone here combined it with {drug2} and noticed a difference?",
    "The study everyone links about {target} seems small, so I am cautious.",
    "I take it every evening and have not noticed any side effects so far.",
    "Posting my photos in case they help someone who is on the fence.",
    "The forum search gave mixed answers, so I would love some first-hand experience.",
)
SEARCH_KEYWORDS: Final = ("finasteride", "minoxidil", "dutasteride", "alopecia-areata", "prp")
LEARN_TOPICS: Final = ("finasteride", "minoxidil", "hair-loss")
