"""Facts of the 12 blind hold-out study pages (all prose invented for this set).

Each study page is a dict of *clean* facts; the stack renderers in make_pages.py decide the markup and
add the rendering noise. The truth JSON is derived from these facts, never from the HTML.
"""

import re
import unicodedata

BASE = "https://tressless.com"


def slugify(title):
    t = title.replace("α", "alpha").replace("β", "beta").replace("γ", "gamma")
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode()
    t = re.sub(r"[^A-Za-z0-9]+", "-", t).strip("-").lower()
    return t[:200].rstrip("-")


# --------------------------------------------------------------------------------------------------
# Research entries that appear in "cited" / "related" lists.
# fields: title, id, citations, date ("Month YYYY" or None), venue, tldr, slug (optional)
# --------------------------------------------------------------------------------------------------
def R(id, title, citations, date, venue, tldr, slug=None):
    return dict(id=id, title=title, citations=citations, date=date, venue=venue, tldr=tldr,
                slug=slug or slugify(title))


POOL = {r["id"]: r for r in [
    R("Dz8k", "Dihydrotestosterone levels in scalp skin biopsies before and after topical 5α-reductase inhibition",
      29, "January 2016", "Clinical and Experimental Hair Research",
      "Topical inhibitor application lowered scalp DHT by roughly half within four weeks, while serum DHT moved far less."),
    R("f1Nq", "Finasteride 1 mg and semen parameters in men under 35: a prospective observational cohort",
      63, "July 2013", "Journal of Investigative Andrology",
      "Sperm count and motility stayed within reference ranges over two years of finasteride use in young men without prior fertility problems."),
    R("Sa2m", "A systemic absorption model for topical antiandrogens applied to the vertex",
      None, "March 2022", None,
      "A pharmacokinetic model predicts that the treated skin area, more than the drug concentration, decides how much topical drug reaches the blood."),
    R("Ar5x", "Androgen receptor density along the frontal-to-occipital axis of the male scalp",
      74, "February 2011", "Journal of Follicle Biology",
      "Frontal and vertex follicles carried more androgen receptor than occipital ones, matching the usual shape of male balding."),
    R("Kp2e", "Propylene glycol vehicle and scalp irritation with daily topical use",
      12, "August 2014", "Contact Dermatitis Reports", None),
    R("Hd3r", "Daily low-level red light from a helmet device and terminal hair density in women over 50",
      17, "April 2018", "Lasers in Dermatologic Science",
      "Sixteen weeks of helmet treatment raised terminal hair density modestly in older women, with no device-related adverse events."),
    R("Ps4c", "Patient-reported satisfaction with combination therapy in androgenetic alopecia",
      8, "September 2020", "Cosmetic Dermatology Quarterly",
      "Men using two or more treatments rated their results higher, although adherence dropped after the first year."),
    R("Hc9t", "Hair count photography: inter-rater agreement across four clinics",
      22, "June 2017", "Skin Research and Imaging",
      "Trained raters agreed closely on target-area hair counts once lighting and magnification were standardised."),
    R("Om6w", "Oral minoxidil 1 mg in women with diffuse thinning: hypertrichosis and heart rate at six months",
      31, "May 2021", "International Journal of Trichology Practice",
      "One milligram of oral minoxidil improved density in most women; facial hair growth was the commonest complaint and heart rate barely changed."),
    R("Se3v", "Sexual adverse events reported with 5α-reductase inhibitors: a pharmacovigilance review",
      45, "October 2019", "Drug Safety in Dermatology",
      "Spontaneous reports of sexual side effects clustered in the first months of use and were more frequent after media coverage."),
    R("Tf5g", "Topical finasteride gel pharmacokinetics in healthy volunteers",
      19, "December 2018", None,
      "Plasma finasteride after a daily 1 mL gel dose stayed about a hundred times lower than after the oral tablet."),
    R("Pf7a", "Dermal papilla cell proliferation under prostaglandin F2α analogue exposure",
      112, "November 2009", "Experimental Dermatology Letters",
      "Prostaglandin F2α analogues increased dermal papilla cell numbers in culture in a dose-dependent way."),
    R("Wn3t", "Wnt/β-catenin signalling as the switch for anagen induction in murine skin",
      388, "March 2005", "Developmental Skin Biology",
      "Forced β-catenin activity pushed resting follicles into a new growth phase, while blocking it kept them dormant."),
    R("Mq1z", "Quantifying follicular miniaturization with a terminal-to-vellus diameter ratio",
      54, "October 2010", "Journal of Follicle Biology",
      "A simple diameter ratio from horizontal biopsy sections separated patterned hair loss from diffuse shedding with good accuracy."),
    R("Ih6s", "A standardised immunostaining protocol for formalin-fixed scalp biopsies",
      None, "February 2008", "Histotechnology Methods",
      "Antigen retrieval time was the main source of staining variation between laboratories processing the same scalp blocks."),
    R("Sr9e", "Distribution of type 1 and type 2 5α-reductase isoenzymes in human skin compartments",
      97, None, None,
      "Type 2 isoenzyme was concentrated in the inner root sheath, while type 1 dominated sebaceous glands."),
    R("Bc2n", "β-catenin stabilisers in three-dimensional dermal papilla spheroids",
      6, "July 2022", "Stem Cells in Dermatology",
      "Stabilising β-catenin restored inductive gene expression in spheroids made from balding-scalp papilla cells."),
    R("Fr4o", "Frontal scalp biopsy mapping in women with a preserved frontal hairline",
      11, "January 2020", "Trichology Reports",
      "Miniaturized follicles were found behind an intact hairline in most women, suggesting that loss starts further back than it appears."),
    R("Kc1a", "Ketoconazole and the androgen pathway: an in vitro study of follicular keratinocytes",
      140, "May 2002", "Mycology and Skin",
      "Ketoconazole reduced androgen-driven signalling in cultured follicle cells at concentrations reached by shampoo contact."),
    R("Mz2f", "Malassezia density on the vertex scalp of men with and without patterned thinning",
      None, "June 2012", "Skin Microbiome Journal",
      "Yeast counts were higher on thinning vertex scalp, but the difference disappeared after adjusting for sebum output."),
    R("Dn4r", "Dandruff severity and daily hair shedding counts: a cross-sectional survey",
      25, "April 2016", None,
      "People with moderate or severe dandruff reported more daily shedding than those without flaking."),
    R("Zp7c", "Zinc pyrithione versus ketoconazole shampoo on hair shaft diameter",
      9, "September 2015", "Cosmetic Dermatology Quarterly",
      "Both shampoos slightly thickened hair shafts over six months, with no clear winner between them."),
    R("Pn8y", "Piroctone olamine leave-on lotion in mild androgenetic alopecia",
      14, "February 2017", "Annals of Scalp Medicine",
      "A leave-on antifungal lotion gave small density gains compared with vehicle, mostly at the vertex."),
    R("Ss5h", "Prevalence of seborrheic dermatitis among men attending a hair loss clinic",
      33, "November 2014", "Annals of Scalp Medicine",
      "About a third of men seeking help for thinning also had seborrheic dermatitis, often undiagnosed."),
    R("Ht2l", "Hair shaft diameter after twelve weeks of anti-dandruff shampoo use",
      4, "August 2021", "Cosmetic Dermatology Quarterly", None),
    R("Mn0x", "Minoxidil opens ATP-sensitive potassium channels in cultured outer root sheath cells",
      205, "March 1999", "Journal of Cutaneous Pharmacology",
      "Minoxidil's effect on follicle cells depended on potassium channel opening and was blocked by a channel antagonist."),
    R("Tg3e", "Defining telogen effluvium: onset, duration and the chronic form",
      51, "June 2006", None,
      "Shedding lasting more than six months should be treated as chronic telogen effluvium and worked up differently."),
    R("Ph1s", "Phototrichogram counts of shed hairs during the first months of minoxidil use",
      None, "January 2010", "Skin Research and Imaging",
      "Shedding rose in weeks two to eight of minoxidil use and then fell below baseline by month four."),
    R("Rb4d", "Loss of regrowth after stopping hair loss treatments: a pooled analysis",
      18, "August 2016", "Trichology Reports",
      "Gains from most treatments were largely lost within a year of stopping, at different speeds for different drugs."),
    R("Wd2y", "A one-minute washing test to measure shedding at home",
      7, None, None,
      "Counting hairs collected after a standard one-minute wash tracked clinic shedding scores reasonably well."),
    R("Fe3r", "Iron deficiency without anaemia and hair loss in premenopausal women",
      77, "May 2006", "Journal of Women’s Dermatology",
      "Low ferritin was more common in women with diffuse shedding than in matched controls, even when haemoglobin was normal."),
    R("Vd5k", "Vitamin D receptor signalling and the hair follicle cycle",
      120, "February 2012", "Endocrine Skin Research",
      "Mice lacking the vitamin D receptor lost hair after the first cycle because follicles failed to re-enter growth."),
    R("Ct8e", "The natural history of chronic telogen effluvium over seven years",
      40, "October 2001", "British Journal of Hair Medicine",
      "Chronic shedding fluctuated for years in most women but rarely progressed to visible baldness."),
    R("Hb1o", "Reliability of the hair pull test between examiners",
      14, "March 2018", "Skin Research and Imaging",
      "Agreement on a positive pull test was only moderate unless examiners followed a fixed washing interval."),
    R("Zn7c", "Oral zinc supplementation in women with diffuse hair shedding",
      2, "December 2021", "Nutrition in Dermatology",
      "Zinc tablets did not reduce shedding in women whose baseline zinc levels were normal."),
    R("Lt9f", "Levothyroxine dose changes and diffuse hair loss",
      None, "July 2019", "Endocrine Skin Research",
      "Shedding episodes often followed thyroid dose changes by two to three months."),
    R("Mn4d", "Microneedling combined with topical minoxidil: a randomized assessor-blinded trial",
      88, "January 2013", "International Journal of Trichology Practice",
      "Adding weekly microneedling to minoxidil produced clearly larger hair count gains than minoxidil alone after twelve weeks."),
    R("Pr2p", "Platelet-rich plasma preparation protocols compared by platelet yield",
      26, "May 2019", "Regenerative Dermatology",
      "Double-spin protocols concentrated platelets far more than single-spin kits, with wide variation between devices."),
    R("Ex5o", "Exosome-based scalp injections: an early safety series",
      3, "October 2023", None,
      "No serious reactions were seen after three monthly sessions, although efficacy could not be judged from this series."),
    R("Wh8g", "Growth factor release from wounded scalp skin",
      59, "April 2011", "Wound and Skin Repair", None),
    R("Jk1i", "JAK1/2 inhibition reverses established alopecia areata in a mouse model",
      512, "September 2014", "Translational Immunology Reports",
      "Oral JAK inhibitors restored hair in mice with established disease by switching off the T-cell attack on follicles."),
    R("Sa5t", "Severity of Alopecia Tool: a scoring guide for scalp hair loss",
      301, "July 2004", "Journal of Autoimmune Trichology",
      "A percentage-based scalp scoring guide gave consistent severity ratings between dermatologists."),
    R("Aa2r", "Relapse after stopping JAK inhibitors in alopecia areata",
      44, "March 2019", "Journal of Autoimmune Trichology",
      "Most patients who stopped treatment relapsed within months, while dose reduction kept many in remission."),
    R("Lp3c", "Lipid changes during long-term JAK inhibitor therapy for skin disease",
      27, "June 2021", "Drug Safety in Dermatology",
      "LDL cholesterol rose early during JAK inhibitor treatment and then stayed level for the rest of follow-up."),
    R("Hz9v", "Herpes zoster in patients treated with oral JAK inhibitors for alopecia areata",
      15, "January 2022", "Drug Safety in Dermatology", None),
    R("Rt4c", "Ritlecitinib in adolescents with extensive alopecia areata",
      12, "August 2023", "Journal of Autoimmune Trichology",
      "Adolescents regrew scalp hair at rates similar to adults, with acne the most frequent side effect."),
    R("Tf2a", "Tofacitinib in children with refractory alopecia areata",
      8, "January 2024", "Dermatologic pharmacotherapy",
      "Most children with long-standing alopecia areata regrew at least half of their scalp hair within a year of treatment."),
    R("Ds6a", "Depression and anxiety in adults with alopecia areata: a registry study",
      66, "April 2015", None,
      "Adults with alopecia areata were diagnosed with depression and anxiety more often than the general population."),
    R("Cb1p", "Contact immunotherapy with diphencyprone for patchy alopecia areata",
      150, None, "Annals of Scalp Medicine",
      "About half of patients regrew cosmetically acceptable hair, but relapse after stopping was common."),
    R("Fp0h", "Grading female pattern hair loss: a revised photographic scale",
      233, "June 1998", "British Journal of Hair Medicine",
      "A five-point photographic scale allowed quick and repeatable grading of central thinning in women."),
    R("Cy5p", "Cyproterone acetate with ethinylestradiol in women with hyperandrogenic hair loss",
      39, "September 2007", "Gynecological Endocrinology Letters",
      "Combined antiandrogen treatment stabilised hair loss in most women with raised androgen levels."),
    R("Bc8l", "Low-dose bicalutamide in female pattern hair loss",
      21, "February 2021", "Journal of Women’s Dermatology",
      "Ten milligrams of bicalutamide daily improved density scores in most women, with liver enzymes checked every three months."),
    R("Hk2p", "Hyperkalaemia risk in young women taking spironolactone",
      58, "October 2015", "Clinical Renal Safety",
      "Potassium rose above the normal range in very few healthy young women, questioning routine monitoring."),
    R("Ad1g", "Androgen receptor degraders in castration-resistant prostate cancer",
      402, "November 2018", "Oncology Pharmacology",
      "Degrading the androgen receptor rather than blocking it overcame resistance in several tumour models."),
    R("Cl6s", "A topical androgen receptor antagonist in men with early patterned hair loss",
      35, "August 2020", "Clinical and Experimental Hair Research",
      "Twice-daily topical antagonist solution improved hair counts over vehicle, with local irritation as the main side effect."),
    R("Pt3y", "Targeted protein degradation: how bifunctional molecules remove receptors",
      None, "May 2017", "Chemical Biology Letters",
      "Bifunctional molecules can recruit a cell's own disposal machinery to destroy a chosen receptor."),
    R("Gt7e", "Gene expression in balding versus non-balding scalp of the same men",
      180, "March 2013", "Journal of Follicle Biology",
      "Balding scalp showed higher prostaglandin D2 synthase and lower growth-promoting signals than the occipital scalp."),
]}


def E(id, **over):
    """An entry of the pool, optionally with fields changed for this page."""
    e = dict(POOL[id])
    e.update(over)
    return e


# --------------------------------------------------------------------------------------------------
# Community posts. post URL shape (not given by the anatomy): /community/<slug>-<post id>
# --------------------------------------------------------------------------------------------------
def P(id, title, category, upvotes, age, summary, slug=None):
    return dict(id=id, title=title, category=category, upvotes=upvotes, age=age, summary=summary,
                slug=slug or slugify(title))


POSTS = {p["id"]: p for p in [
    P("k2v9xq", "Topical fin vs oral fin bloodwork after three months", "Finasteride/Dutasteride", 87, "2 weeks ago",
      "Had my serum DHT checked before and after switching from the tablet to a compounded spray. The drop was smaller on the spray, and I list my dose, timing and the lab I used."),
    P("m4pz1c", "My derm switched me to a spray, anyone else?", "Treatment", 14, "1 month ago",
      "Dermatologist suggested the topical version because of mild side effects on the pill. Curious how long it took others to see whether the spray held their hairline."),
    P("c8hh0d", "Finally found a compounding pharmacy that ships to my state", None, 8, "8 years ago",
      "After months of searching I found a pharmacy that will compound topical finasteride with a prescription. Posting the questions I asked them so you can check yours."),
    P("q1rt7b", "Does DHT in the scalp really drop more than in the blood?", "Research/Science", 1, "3 days ago",
      "Trying to understand why topical studies report a bigger change in scalp tissue than in serum. Is that just where they measure, or does the drug stay in the skin?"),
    P("x7ww2e", "Two year update: fin + min + microneedling", "Progress Pictures", 458, "1 year ago", None),
    P("d3kq8s", "Side effects thread, honest answers only", "Chat", 61, "5 months ago",
      "Let's collect real experiences with side effects, including people who had none. Please say which drug, dose and how long you have been on it so the thread stays useful."),
    P("n9zz4a", "Nizoral twice a week, worth it?", None, 22, "3 weeks ago",
      "Been using ketoconazole 2% on Mondays and Thursdays for four months alongside fin. Scalp feels better but I cannot tell if it does anything for the hair itself."),
    P("h5ft6m", "Split scalp experiment results (ketoconazole left side only)", "Progress Pictures", None, "6 months ago",
      "Six months of shampooing only the left side with ketoconazole. Photos in the same light every month; honestly the difference is smaller than I hoped but not zero."),
    P("b2yo9n", "Which shampoo do you guys pair with fin?", "Finasteride/Dutasteride", 5, "2 years ago",
      "Looking for a gentle daily shampoo to go with finasteride and weekly ketoconazole. My scalp gets dry fast and most medicated ones leave it itchy for a day."),
    P("r6lm3j", "Ferritin 18, doctor says normal?", "Female", 45, "4 days ago",
      "My ferritin came back at 18 and my GP says anything above 15 is fine, but I keep reading that hair needs higher levels. What targets did your doctors use?"),
    P("w0pd2v", "Vitamin D megadose experiment — bad idea", "Chat", 12, "2 years ago",
      "I took a very high weekly dose for two months hoping it would stop my shedding. It did not, and my follow-up bloods were off. Sharing so nobody repeats it."),
    P("t4ce8k", "Shedding after covid, bloodwork came back fine", "Female", None, "9 months ago",
      "Three months after being ill I started losing handfuls in the shower. Iron, thyroid and vitamin D were all normal. Did yours settle on its own and how long did it take?"),
    P("e1su5y", "TE or AGA? How did you figure it out", "Research/Science", 3, "1 week ago",
      "For those who were unsure whether it was shedding or pattern loss: what finally told you? A biopsy, trichoscopy, or just waiting a year to see where it went?"),
    P("u8rr1q", "Dermaroller 1.5mm weekly — 8 month update", "Progress Pictures", 142, "7 months ago",
      "Weekly rolling at 1.5 mm with minoxidil applied the next day. Crown has filled in noticeably; hairline about the same. Routine and photos inside."),
    P("g2mn6p", "PRP clinic quoted me $900 a session", "Treatment", None, "2 months ago",
      "Clinic wants three sessions up front and says results show in six months. Does anyone know what spin protocol is worth paying for, or is it all marketing?"),
    P("o3ba7t", "Olumiant 4mg — 2 years in, full regrowth", "Treatment", 203, "3 months ago",
      "I had lost almost all scalp hair and eyebrows. After two years on baricitinib I have full coverage. Posting my timeline, blood results and what my dermatologist monitored."),
    P("j9ll2s", "Lost it all again after insurance stopped covering", "Chat", 97, "1 year ago",
      "Had great regrowth on a JAK inhibitor and then coverage ended. Within five months most of it was gone again. Venting, but also asking how others kept access."),
    P("v6ee1r", "Eyebrows back before scalp?", "Female", 18, "5 days ago",
      "Three months into treatment, my brows and lashes are coming back but the scalp is still patchy. Is this the usual order, or should I ask about the dose?"),
    P("f5yk0w", "Cholesterol went up on JAK, what did you do", "Research/Science", 9, "2 months ago", None),
    P("s7qp4m", "Ritlecitinib vs baricitinib discussion", None, 31, "4 years ago",
      "With two JAK drugs now studied in alopecia areata, how do people and their doctors choose? Interested in dosing, monitoring and what the trials actually compared."),
    P("a4hn9z", "Spiro 100mg + oral min, 1 year female update", "Female", 76, "6 months ago",
      "One year on spironolactone and 1.25 mg oral minoxidil. Part width is clearly narrower and shedding is back to normal. Photos and my monitoring schedule inside."),
    P("y2ku8d", "Potassium bloodwork on spiro — how often?", "Research/Science", None, "3 years ago",
      "My doctor wants potassium checked every month for the first year. Some people here say they were never tested at all. What does the evidence say for young women?"),
    P("l0xz3c", "KX-217 trial sign-ups anyone?", "Research/Science", 1, "1 week ago",
      "Saw that a trial for the topical degrader is recruiting at a few sites. Has anyone applied, and do you know the exclusion criteria for people already on finasteride?"),
]}


def PP(id, **over):
    p = dict(POSTS[id])
    p.update(over)
    return p


# --------------------------------------------------------------------------------------------------
# Study pages.
# count forms: ("std", shown, total) | ("plus", shown, "1000+") | ("nototal", shown) | ("nores", shown)
#              | ("zero",) | None (heading shown without a count line)
# --------------------------------------------------------------------------------------------------
def S(key, heading, count, items):
    return dict(key=key, heading=heading, count=count, items=items)


PAGES = []

# ---------------------------------------------------------------- nextjs-tailwind
PAGES.append(dict(
    stack="nextjs-tailwind", name="full-every-section",
    id="Tq8w", slug="topical-vs-oral-finasteride-scalp-serum-dht",
    title="Topical Finasteride 0.25% Spray Versus Oral Finasteride 1 mg: Scalp and Serum Dihydrotestosterone Over 12 Months",
    date="February 2024", venue="Journal of Follicle Biology", venue_space=True,
    authors=["Lucía Ferrándiz‐Ortega", "Tomasz Wierzbicki", "Hana Kobayashi", "Oluwaseun Adeyemi", "J.P. Marchetti"],
    image="https://cdn.tressless.com/research/images/Tq8w-cover.webp",
    tldr="The spray lowered scalp DHT almost as much as the tablet while cutting serum DHT far less, and hair counts rose similarly in both groups.",
    summary=("In this twelve-month randomized study, 148 men with early male pattern hair loss used either a 0.25% "
             "finasteride spray on the scalp once a day or the standard 1 mg tablet. Scalp dihydrotestosterone, measured in "
             "small punch biopsies from the vertex, fell by 51% with the spray and by 58% with the tablet. Serum "
             "dihydrotestosterone fell by 23% with the spray compared with 64% with the tablet, so far less drug appeared to "
             "act on the rest of the body. Hair counts in a marked one-square-centimetre area rose by a similar amount in "
             "both groups at months six and twelve, and independent photo ratings did not separate the two treatments. "
             "Sexual side effects were reported by four men on the tablet and two on the spray, and mild scalp itching was "
             "more common with the spray. The authors note that the study was not large enough to compare rare side "
             "effects and that the spray was applied under supervision for the first month, which may not reflect everyday use."),
    discuss="/community/new?research=Tq8w",
    view=dict(host="onlinelibrary.wiley.com", href="https://onlinelibrary.wiley.com/doi/10.1111/jfb.30418"),
    link_order=("discuss", "view"),
    sections=[
        S("cited_research", "Research cited in this study", ("std", 5, 5),
          [E("Dz8k"), E("f1Nq"), E("Sa2m"), E("Ar5x"), E("Kp2e")]),
        S("community_posts", "Related Community Posts", ("std", 6, 6),
          [PP("k2v9xq"), PP("m4pz1c"), PP("c8hh0d"), PP("q1rt7b"), PP("x7ww2e"), PP("d3kq8s")]),
        S("related_research", "Related Research", ("std", 6, 604),
          [E("Hd3r"), E("Ps4c"), E("Hc9t"), E("Om6w"), E("Se3v"), E("Tf5g")]),
    ],
))

PAGES.append(dict(
    stack="nextjs-tailwind", name="counts-1000plus-zero-unknown",
    id="07bK",
    slug=None,  # long slug from the full title
    title="5α-Reductase Type 2 and β-Catenin Co-Expression in Miniaturizing Follicles of the Frontal Scalp – An Immunohistochemical Mapping Study",
    date="August 2019", venue="Acta pilosebacea", venue_space=True,
    authors=["Sigrún Hallgrímsdóttir", "Matteo Bianchi‐Rossi", "Keller Jd"],
    image=None,
    tldr="Follicles that were shrinking showed more type 2 5α-reductase and less nuclear β-catenin than neighbouring healthy follicles in the same biopsy.",
    summary=("Researchers stained 62 frontal scalp biopsies from men with patterned hair loss for the type 2 5α-reductase "
             "enzyme and for β-catenin, a protein that helps keep follicles in their growth phase. Each follicle was "
             "classified as terminal, intermediate or miniaturized by its diameter. Miniaturizing follicles had about twice "
             "as much enzyme staining in the outer root sheath as terminal follicles from the same biopsy, and their "
             "dermal papilla cells showed less β-catenin in the nucleus. Intermediate follicles fell between the two. The "
             "pattern held across age groups and was weaker in the few biopsies taken from men already using finasteride. "
             "The authors suggest that local androgen activation and reduced growth signalling occur together at the level "
             "of individual follicles, but the study is observational and cannot show which change comes first."),
    discuss="/community/new?research=07bK",
    view=dict(host="", href=None),   # "View this study on →": empty host text and no target
    link_order=("discuss", "view"),
    sections=[
        S("cited_research", "Research cited in this study", ("plus", 6, "1000+"),
          [E("Ar5x"), E("Pf7a"), E("Wn3t"), E("Mq1z"), E("Ih6s"), E("Sr9e")]),
        S("community_posts", "Related Community Posts", ("zero",), []),
        S("related_research", "Similar Research", ("nototal", 3),
          [E("Dz8k"), E("Bc2n"), E("Fr4o")]),
    ],
))

PAGES.append(dict(
    stack="nextjs-tailwind", name="minimal",
    id="hR2", slug="scalp-sebum-composition-young-men-early-thinning",
    title="Scalp Sebum Composition in Young Men with Early Thinning",
    date=None, venue=None, venue_space=True,
    authors=["Ravi Chandrasekaran", "Emma Lindqvist"],
    image=None, tldr=None,
    summary=("This small study compared the oily film on the scalp of 40 men aged 18 to 30, half of whom had early "
             "thinning at the temples or crown. Sebum was collected on absorbent tape from the vertex in the morning, "
             "before washing, and analysed for its main fat groups. Men with thinning produced a similar total amount of "
             "sebum but a higher share of free fatty acids and squalene breakdown products, which can irritate the skin. "
             "They also reported more itching and flaking. The authors suggest that changes in sebum quality, rather than "
             "quantity, might add low-grade inflammation around follicles that are already sensitive to androgens. They "
             "caution that the group was small, that diet and shampoo habits were not controlled, and that the findings "
             "cannot show whether the sebum changes are a cause or a consequence of thinning."),
    discuss=None, view=None, link_order=(),
    sections=[],
))

PAGES.append(dict(
    stack="nextjs-tailwind", name="client-noise",
    id="zU3p", slug="ketoconazole-shampoo-adjunct-finasteride-split-scalp-pilot",
    title="Ketoconazole 2% Shampoo as an Adjunct to Finasteride: A Split-Scalp Pilot Study",
    date="March 2022", venue="Trichology Reports", venue_space=False,   # older form, mixed generations
    authors=["Aylin Demirtaş", "Christopher O’Neill", "Bui Thi Lan", "Mirela Popescu"],
    image="https://cdn.tressless.com/research/images/zU3p-cover.webp",
    tldr="The ketoconazole-washed half of the scalp gained slightly more hair than the other half in men already taking finasteride.",
    summary=("Twenty-four men who had taken finasteride for at least a year washed one side of the scalp with 2% "
             "ketoconazole shampoo three times a week and the other side with a plain shampoo, for six months. A plastic "
             "cap with a centre seam kept the two shampoos apart. Hair counts in matched target areas rose by 6.1% on the "
             "ketoconazole side and by 2.4% on the control side, and hair shafts were slightly thicker on the treated side. "
             "Flaking and itch improved on both sides. Three men stopped early because of dryness. The authors describe the "
             "result as encouraging but note that the split-scalp design cannot exclude some spread of shampoo across the "
             "midline and that six months is short for a hair study."),
    discuss="/community/new?research=zU3p",
    view=dict(host="link.springer.com", href="https://link.springer.com/article/10.1007/s40257-022-00671-9"),
    link_order=("view", "discuss"),
    noise=True,
    sections=[
        S("cited_research", "Research cited in this study", ("std", 4, 4),
          [E("Kc1a", glitch_before=True), E("Mz2f", cit_glitch="NaN"), E("Dn4r", venue_glitch="undefined"),
           E("Zp7c")]),
        S("community_posts", "Related Community Posts", ("std", 3, 3),
          [PP("n9zz4a", cat_glitch="undefined"), PP("h5ft6m", upv_glitch="NaN"), PP("b2yo9n")]),
        S("related_research", "Related Research", ("std", 3, 212),
          [E("Pn8y"), E("Ss5h"), E("Ht2l")]),
    ],
))

# ---------------------------------------------------------------- cms-theme
PAGES.append(dict(
    stack="cms-theme", name="older-generation",
    id="kwmd", slug="hair-shedding-after-stopping-topical-minoxidil",
    title="Hair Shedding After Discontinuation of Topical Minoxidil: A Retrospective Chart Review",
    date="June 2015", venue="Clinical and experimental hair research", venue_space=False,
    authors=["Friederike Saalfeld", "Weiss Pr", "Gustavo Tavares", "Chloé Marchand", "Iwona Kowalczyk", "D.L. Whitcombe"],
    image="https://tressless.com/wp-content/uploads/2015/06/kwmd-study-1024x576.jpg",
    tldr="Most patients who stopped minoxidil noticed increased shedding within three months, and density returned to pre-treatment levels within a year.",
    summary=("The authors reviewed the records of 211 patients who had used topical minoxidil for at least a year and "
             "then stopped, usually because of cost, irritation or the effort of daily application. Shedding was recorded "
             "from patient reports and, in a subset, from standardised washing counts. Increased shedding began a median "
             "of ten weeks after stopping and lasted about three months. Photographs showed that density gained during "
             "treatment was largely gone by twelve months, bringing most patients back close to where they started, "
             "though rarely below it. Patients who switched to another treatment before stopping had milder shedding. "
             "Because the study looked back at routine records, the timing and amount of shedding are approximate and "
             "patients who did not return to the clinic could not be followed."),
    discuss=None,
    view=dict(host="academic.oup.com", href="https://academic.oup.com/cehr/article/40/6/512/6612345"),
    link_order=("view",),
    sections=[
        S("cited_research", "Cited in this study", None,
          [E("Mn0x"), E("Tg3e"), E("Om6w", tldr=None), E("Ph1s")]),
        S("related_research", "Related", None,
          [E("Rb4d"), E("Hc9t"), E("Wd2y")]),
    ],
))

PAGES.append(dict(
    stack="cms-theme", name="mixed-noresults-missing-heading",
    id="3Fz", slug="serum-ferritin-vitamin-d-chronic-telogen-effluvium-women",
    title="Serum Ferritin and Vitamin D Status in Women Presenting with Chronic Telogen Effluvium",
    date="November 2017", venue=None, venue_space=True,   # date only, no venue
    authors=["Анна Соколова", "Игорь Мельников", "Petra Novák", "Samira El‐Amrani"],
    image="https://tressless.com/wp-content/uploads/2017/11/3Fz-study-1024x576.jpg",
    tldr="Women with long-lasting diffuse shedding had lower ferritin and vitamin D than age-matched women without hair loss.",
    summary=("This case-control study compared blood tests from 120 women with diffuse shedding lasting more than six "
             "months with those of 120 women of similar age without hair complaints. Median ferritin was 24 µg/L in the "
             "shedding group and 41 µg/L in controls, and a ferritin under 30 was about three times as common among women "
             "with shedding. Vitamin D was also lower, although the difference was smaller and largely disappeared after "
             "adjusting for season of sampling. Thyroid function and zinc did not differ between groups. The authors "
             "suggest checking ferritin in all women with chronic shedding, but point out that the study cannot tell "
             "whether correcting low levels stops the hair loss, because no treatment was given."),
    discuss="/community/new?research=3Fz",
    view=dict(host="", href="https://doi.org/10.1016/j.jwd.2017.09.004"),   # empty host text, target kept
    link_order=("discuss", "view"),
    sections=[
        S("cited_research", "Research cited in this study", ("nores", 3),
          [E("Fe3r"), E("Vd5k"), E("Ct8e")]),
        S("community_posts", "Related Community Posts", ("std", 4, 4),
          [PP("r6lm3j"), PP("w0pd2v"), PP("t4ce8k"), PP("e1su5y")]),
        S("related_research", None, ("std", 5, 88),   # heading missing, count line + list remain
          [E("Tg3e"), E("Hb1o"), E("Zn7c"), E("Lt9f"), E("Hk2p")]),
    ],
))

PAGES.append(dict(
    stack="cms-theme", name="minimal",
    id="mB0d",
    slug=("prostaglandin-d-sub2sub-receptor-antagonism-and-the-balding-scalp-a-review-of-preclinical-evidence-"
          "early-phase-human-studies-and-open-questions-about-dose-selection-duration-of-treatment-and-which-patients-might-benefit"),
    title=("Prostaglandin D2 Receptor Antagonism and the Balding Scalp: A Review of Preclinical Evidence, Early-Phase "
           "Human Studies, and Open Questions About Dose Selection, Duration of Treatment and Which Patients Might Benefit"),
    title_html=("Prostaglandin D<sub>2</sub> Receptor Antagonism and the Balding Scalp: A Review of Preclinical Evidence, "
                "Early-Phase Human Studies, and Open Questions About Dose Selection, Duration of Treatment and Which "
                "Patients Might Benefit"),
    date=None, venue=None, venue_space=True,
    authors=["Théodore Vasquez‐Lindgren"],
    image=None, tldr=None,
    summary=("This review gathers what is known about blocking the prostaglandin D2 receptor as a way to slow male "
             "pattern hair loss. The idea began with the observation that balding scalp contains more of the enzyme that "
             "makes prostaglandin D2, and that this lipid shortens hair growth in mice and in cultured human follicles. "
             "The author summarises animal experiments in which receptor blockers partly protected follicles, and then "
             "reviews the small number of early human studies, which used oral or topical blockers for up to six months. "
             "Those studies were too short and too small to show a clear benefit on hair counts, and several compared "
             "doses that may have been too low to block the receptor fully in scalp tissue. The review also discusses how "
             "prostaglandin D2 interacts with androgens, why the effect might be greatest in younger men with active "
             "loss, and which biomarkers could help choose doses. It ends with a list of open questions: how long "
             "treatment must last before hair changes can be judged, whether topical use reaches the right depth, and "
             "whether combining a receptor blocker with finasteride adds anything. The author concludes that the approach "
             "remains plausible but unproven, and that a properly sized trial of at least a year is needed before it can "
             "be recommended."),
    discuss=None, view=None, link_order=(),
    sections=[],
))

PAGES.append(dict(
    stack="cms-theme", name="client-noise",
    id="Wb6t", slug="microneedling-depth-platelet-rich-plasma-uptake-ex-vivo",
    title="Microneedling Depth and Platelet-Rich Plasma Uptake in the Scalp: An Ex Vivo Tracer Study",
    date="September 2020", venue="Annals of Scalp Medicine", venue_space=True,
    authors=["Kofi Mensah", "Ingrid Solberg", "Park Ji‐woo", "Rafael Cunha", "Nadia Haddad"],
    image="https://tressless.com/wp-content/uploads/2020/09/Wb6t-study-1024x576.jpg",
    tldr="Needles of 1.0 to 1.5 mm let a plasma tracer reach the depth of hair bulbs, while shorter needles left it near the surface.",
    summary=("Using scalp skin left over from hair transplant surgery, the researchers applied platelet-rich plasma mixed "
             "with a fluorescent tracer after microneedling at depths of 0.25, 0.5, 1.0 and 1.5 mm. Thin sections showed "
             "how far the tracer travelled in the next hour. With 0.25 and 0.5 mm needles it stayed mostly in the upper "
             "skin, while 1.0 and 1.5 mm needles carried it down to the level of the hair bulbs in most samples. Deeper "
             "needling also caused more bleeding in the channels, which diluted the plasma. The authors conclude that "
             "needle length matters if the aim is to deliver growth factors to the follicle, but warn that living scalp "
             "behaves differently from donor tissue and that the study did not measure hair growth."),
    discuss="/community/new?research=Wb6t",
    view=dict(host="pubmed.ncbi.nlm.nih.gov", href="https://pubmed.ncbi.nlm.nih.gov/32941876/"),
    link_order=("discuss", "view"),
    noise=True,
    sections=[
        S("cited_research", "Research cited in this study", ("std", 1, 1), [E("Mn4d")]),
        S("community_posts", "Related Community Posts", ("std", 2, 2),
          [PP("u8rr1q"), PP("g2mn6p", upv_glitch="undefined")]),
        S("related_research", "Related Research", ("std", 4, 37),
          [E("Pr2p", glitch_before=True), E("Ex5o"), E("Hd3r", cit_glitch="NaN"), E("Wh8g")]),
    ],
))

# ---------------------------------------------------------------- aria-first
A1_AUTHORS = [
    "Marta Ibáñez‐Corral", "Nguye\u0302\u0303n Thi Thu", "M.A. Delacroix", "Okafor Cn", "Zoë Papadakis",
    "Søren Kjærgaard", "Đorđe Marković", "Łukasz Żmuda", "Ana Luísa Gonçalves", "Yusuf Özkan",
    "Priya Raghunathan", "Mei-Ling Cheng", "José Ramón Etxeberria", "Annika Väisänen", "Kwame Asante",
    "Ilse de Vries", "Tariq Al‐Rashid", "Niamh Ó Briain", "Aleksandra Wójcik", "Hiroshi Tanabe",
    "Camille Lefèvre", "Rūta Jankauskaitė", "Émile Durand", "Björn Lindahl",
]

PAGES.append(dict(
    stack="aria-first", name="full-every-section",
    id="Lx0e", slug="baricitinib-regrowth-durability-severe-alopecia-areata-104-weeks",
    title="Baricitinib 4 mg and Regrowth Durability in Severe Alopecia Areata: 104-Week Follow-Up of a Multicentre Cohort",
    date="October 2023", venue="Journal of Autoimmune Trichology", venue_space=True,
    authors=A1_AUTHORS,
    image="https://img.tressless.com/research/Lx0e/cover-1200.jpg",
    tldr="Most patients who regrew hair on baricitinib kept it through two years of continued treatment, and new safety concerns did not emerge.",
    summary=("This study followed 286 adults with severe alopecia areata, defined as at least half of the scalp without "
             "hair, who took baricitinib 4 mg daily for two years at 31 centres. At week 52, 41% had regained hair over at "
             "least 80% of the scalp. Of those responders, 87% still met that threshold at week 104, and many patients who "
             "had only partial regrowth at one year continued to improve during the second year. Eyebrow and eyelash "
             "regrowth followed a similar course. Acne, raised cholesterol and raised muscle enzymes were the most common "
             "laboratory or clinical findings, and there were four cases of shingles. No new safety signals appeared in "
             "the second year. The authors note that there was no placebo group after the first year and that patients "
             "who dropped out may have done less well."),
    discuss="/community/new?research=Lx0e",
    view=None, link_order=("discuss",),
    sections=[
        S("cited_research", "Research cited in this study", ("std", 5, 5),
          [E("Jk1i"), E("Sa5t"), E("Aa2r"), E("Lp3c"), E("Hz9v")]),
        S("community_posts", "Related Community Posts", ("std", 5, 5),
          [PP("o3ba7t"), PP("j9ll2s"), PP("v6ee1r"), PP("f5yk0w"), PP("s7qp4m")]),
        S("related_research", "Similar Research", ("std", 4, 97),
          [E("Rt4c"), E("Tf2a"), E("Ds6a"), E("Cb1p")]),
    ],
))

PAGES.append(dict(
    stack="aria-first", name="pubmed-no-links-unknown-total",
    id="9dJm", slug=None,
    title="Spironolactone in Female Pattern Hair Loss: A Systematic Review of Dosing and Potassium Monitoring",
    date="April 2012", venue="PubMed", venue_space=True,
    authors=["Margaret Oyelaran", "Teresa Albuquerque", "Wen Jie", "Kovács Gy"],
    image=None, tldr=None,
    summary=("The reviewers searched for every study that treated women with pattern hair loss using spironolactone and "
             "found 14, mostly small and without a comparison group. Doses ranged from 50 to 200 mg a day, and most women "
             "were treated for six to twelve months. Across studies, between four and seven of every ten women were "
             "judged to have stabilised or improved, with higher doses tending to do better. Menstrual irregularity, "
             "breast tenderness and dizziness were the common side effects. High potassium was very rare in healthy "
             "women under 45, which the authors say questions the habit of testing potassium every month. They recommend "
             "a starting dose of 100 mg, a potassium check only in women with kidney disease or other risk factors, and "
             "proper randomized trials before spironolactone can be compared with other treatments."),
    discuss=None, view=None, link_order=(),
    sections=[
        S("cited_research", "Research cited in this study", ("zero",), []),
        S("community_posts", "Related Community Posts", ("std", 2, 2), [PP("a4hn9z"), PP("y2ku8d")]),
        S("related_research", "Related Research", ("nototal", 5),
          [E("Om6w"), E("Fp0h"), E("Cy5p"), E("Bc8l"), E("Hk2p")]),
    ],
))

PAGES.append(dict(
    stack="aria-first", name="minimal",
    id="bT7", slug="hair-cycle-timing-identical-twins",
    title="Hair Cycle Timing in Identical Twins – A Small Observational Series",
    date=None, venue=None, venue_space=True,
    authors=["Ingeborg Halvorsen", "Lin Xiaoyu", "Ade\u0301ba\u0301yo\u0323\u0300 O\u0300gu\u0301nle\u0323\u0301ye\u0323"],
    image=None, tldr=None,
    summary=("Eleven pairs of identical twins, all men aged 25 to 48, had the same small area of the crown photographed "
             "every two weeks for a year so that individual hairs could be followed through growth, rest and shedding. "
             "Within each pair, the share of hairs in the growth phase was strikingly similar at every visit, and the "
             "seasonal rise in shedding in late summer happened at almost the same time. Twins who both had visible "
             "thinning also shared shorter growth phases. Differences between twins were largest where one smoked or had "
             "been seriously ill during the year. The authors say the series supports a strong inherited influence on "
             "hair cycle timing, but the group was small and all participants came from one region."),
    discuss=None, view=None, link_order=(),
    sections=[],
))

PAGES.append(dict(
    stack="aria-first", name="client-noise",
    id="Ra2K", slug="research-highlights-topical-androgen-receptor-degrader-kx-217",
    title="Research Highlights: Topical Androgen Receptor Degrader KX‐217 in Early Male Pattern Hair Loss",
    date=None, venue=None, venue_space=True,    # editorial page: no date line at all
    authors=["Casimir Wrona", "Elodie Fontaine‐Mbeki"],
    image="https://img.tressless.com/research/Ra2K/cover-1200.jpg",
    tldr="A topical molecule that destroys the androgen receptor in follicle cells increased hair counts over vehicle in a 16-week phase 2 study.",
    summary=("This highlight summarises a phase 2 trial of KX‐217, a topical compound designed to make scalp cells break "
             "down their own androgen receptors instead of merely blocking them. 180 men aged 18 to 40 with early "
             "thinning applied one of two strengths or a vehicle solution once a day for 16 weeks. The higher strength "
             "increased non-vellus hair counts by 11 hairs per square centimetre more than vehicle, and the lower "
             "strength by 6. Scalp biopsies in a subset showed androgen receptor levels reduced by about 60% in treated "
             "follicles, with no measurable change in blood hormone levels. Side effects were mostly mild redness and "
             "itching at the application site. The trial was short and its participants were young with mild loss, so "
             "larger and longer studies are needed to confirm the benefit and its safety."),
    discuss=None,
    view=dict(host="doi.org", href="https://doi.org/10.1093/jfb/kx217.2025.0114"),
    link_order=("view",),
    noise=True,
    sections=[
        S("cited_research", "Research cited in this study", ("plus", 6, "1000+"),
          [E("Ar5x"), E("Sa2m", glitch_before=True), E("Dz8k"), E("Ad1g"), E("Cl6s"), E("Pt3y", cit_glitch="NaN")]),
        S("community_posts", "Related Community Posts", ("std", 1, 1), [PP("l0xz3c")]),
        S("related_research", "Related Research", ("std", 3, 3),
          [E("Ps4c"), E("Tf5g", venue_glitch="undefined"), E("Gt7e")]),
    ],
))

for _p in PAGES:
    if not _p.get("slug"):
        _p["slug"] = slugify(_p["title"])
    _p.setdefault("noise", False)
