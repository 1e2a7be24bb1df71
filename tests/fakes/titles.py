"""Title vocabularies for the fake Ollama: realistic headlines per label, tens of thousands of them."""

from __future__ import annotations

import random
from collections.abc import Sequence

PEOPLE = [
    "Teacher",
    "Nurse",
    "Mom",
    "Dad",
    "Grandma",
    "Firefighter",
    "Student",
    "Chef",
    "Farmer",
    "Pilot",
    "Barista",
    "Doctor",
    "Mechanic",
    "Plumber",
    "Librarian",
    "Retiree",
    "Toddler",
    "Dentist",
    "Coach",
    "Janitor",
]
PLACES = [
    "Ohio",
    "Texas",
    "Florida",
    "Maine",
    "Oregon",
    "Nevada",
    "Iowa",
    "Alaska",
    "Georgia",
    "Vermont",
    "Utah",
    "Kansas",
    "Idaho",
    "Montana",
    "Arizona",
    "Denver",
    "Seattle",
    "Boston",
    "Chicago",
    "Phoenix",
]
THINGS = [
    "Groceries",
    "Coffee",
    "Sleep",
    "Rent",
    "Laundry",
    "Car Insurance",
    "Phone Battery",
    "Garden",
    "Back Pain",
    "Electric Bill",
    "Dishwasher",
    "Houseplants",
    "Credit Score",
    "Morning Routine",
    "Skin",
    "Breakfast",
    "Wi-Fi",
    "Closet",
    "Headaches",
    "Savings",
]
VERBS = [
    "Saved Thousands on",
    "Fixed",
    "Transformed",
    "Doubled",
    "Finally Beat",
    "Stopped Worrying About",
    "Cut in Half",
    "Reinvented",
    "Mastered",
    "Outsmarted",
]
REACTIONS = [
    "Experts Are Stunned",
    "Nobody Saw It Coming",
    "Doctors Hate It",
    "The Internet Is Losing It",
    "Neighbours Can't Believe It",
    "Banks Don't Want You to Know",
    "It Changes Everything",
    "You'll Wish You Knew Sooner",
]
NUMBERS = ["7", "9", "11", "12", "13", "15", "17", "19", "21", "23", "25", "31"]

CLICKBAIT = [
    "You Won't Believe How This {person} From {place} {verb} Their {thing}",
    "This {person} in {place} {verb} Their {thing} and {reaction}",
    "{num} {thing} Secrets Every {person} in {place} Should Know",
    "What This {person} Discovered About {thing} Will Leave You Speechless",
    "{num} Reasons Your {thing} Is Secretly Ruining Your Life",
    "The Shocking Truth About {thing} That {reaction}",
    "Why Every {person} in {place} Is Obsessed With This {thing} Trick",
    "She Tried This {thing} Hack for a Week and {reaction}",
    "{num} Photos of {place} {thing} That Prove {reaction}",
    "Stop Doing This With Your {thing} Before It's Too Late",
    "This One {thing} Mistake Is Costing Every {person} a Fortune",
    "Here's Why This {person} From {place} Quit {thing} Forever",
]

ORGS = [
    "City council",
    "State regulators",
    "Federal officials",
    "University researchers",
    "Health agency",
    "Transport ministry",
    "Central bank",
    "Energy company",
    "School board",
    "County officials",
    "Port authority",
    "Water utility",
    "Labour union",
    "Court of appeals",
    "Weather service",
    "Police",
]
ACTIONS = [
    "approves",
    "rejects",
    "delays",
    "announces",
    "reviews",
    "expands",
    "suspends",
    "funds",
    "proposes",
    "completes",
]
SUBJECTS = [
    "budget for road repairs",
    "plan to build new bridge",
    "rules on short-term rentals",
    "water treatment upgrade",
    "contract for school buses",
    "study of air quality",
    "limits on river fishing",
    "tax on plastic bags",
    "hospital expansion project",
    "housing development near airport",
    "broadband grant programme",
    "wildfire prevention funding",
    "changes to bus routes",
    "merger of two rural districts",
    "review of emergency response times",
    "pilot scheme for electric ferries",
]
WHEN = [
    "after long debate",
    "on Tuesday",
    "ahead of winter",
    "following public hearings",
    "for next fiscal year",
    "after months of delays",
    "despite objections",
    "in narrow vote",
    "as costs rise",
    "amid staff shortages",
]
STATS = ["2.1", "3.4", "4.8", "5.5", "6.2", "7.9", "8.3", "9.6", "12", "15"]
FACTUAL = [
    "{org} {action} {subject} {when}",
    "{org} in {place} {action} {subject}",
    "{place} {org2} {action} {subject} {when}",
    "Unemployment in {place} falls to {stat} percent {when}",
    "{org} report {stat} percent rise in {thing2} costs in {place}",
    "Storm closes roads across {place} as {org2} {action} {subject}",
    "{org} says {subject} in {place} will cost {stat} million dollars",
]
THINGS2 = [
    "energy",
    "housing",
    "food",
    "transport",
    "insurance",
    "childcare",
    "water",
    "healthcare",
    "tuition",
    "fuel",
]

# Each topic gets five templates of comparable variety (every template has three or more free
# slots), so that no label runs out of distinct titles before the others and the per-label
# kept rates measure the pipeline's filters, not this vocabulary. Some titles use the label's
# own word in ordinary prose ("World leaders", "Sports minister", "Business groups", "Tech
# firms"), as real headlines do: the leak filter must keep those and drop only tags.
TOPICS = {
    "World": [
        "Leaders in {place} agree to resume talks with {org2} on {subject} {when}",
        "Election in {place} heads to runoff as {org2} {action} {subject}",
        "Foreign ministers meet {org2} in {place} over {subject} {when}",
        "{org} in {place} {action} {subject} {when}",
        "World leaders gather in {place} as {org2} {action} {subject}",
    ],
    "Sports": [
        "{place} {team} beat rivals {score} in {comp} {when}",
        "Injury rules star striker of {place} {team} out of {comp} {when}",
        "{place} {team} sign veteran coach {when} before {comp}",
        "Late goal lifts {place} {team} to {score} win in {comp} {when}",
        "Sports minister in {place} backs {team} bid for {comp} {when}",
    ],
    "Business": [
        "Shares of {place} {firm} fall {stat} percent after earnings {when}",
        "{place} {firm} to cut {stat} hundred jobs {when}",
        "{firm} in {place} reports record revenue as {thing2} costs rise {when}",
        "{org} {action} merger of {place} {firm} {when}",
        "Business groups in {place} warn {org2} of {thing2} costs {when}",
    ],
    "Sci/Tech": [
        "Researchers at {place} {firm} unveil {tech} {when}",
        "{place} start-up launches {tech} for {thing2} {when}",
        "{org} study in {place} links {thing2} to {tech} use",
        "{place} {firm} recalls {tech} over battery fault {when}",
        "Tech firms in {place} race to build {tech} for {thing2} {when}",
    ],
}
TEAMS = [
    "Rangers",
    "United",
    "City",
    "Wolves",
    "Eagles",
    "Tigers",
    "Sharks",
    "Giants",
    "Royals",
    "Comets",
]
COMPS = ["cup semifinal", "league opener", "title decider", "derby", "playoff", "final round"]
FIRMS = [
    "chipmaker",
    "airline",
    "retailer",
    "carmaker",
    "bank",
    "insurer",
    "drugmaker",
    "telecom group",
    "miner",
    "shipper",
]
TECH = [
    "solar battery",
    "quantum sensor",
    "AI chip",
    "satellite network",
    "gene therapy",
    "smart glasses",
    "fusion reactor design",
    "robot surgeon",
    "language model",
    "water filter",
]
SCORES = ["2-1", "3-0", "1-0", "4-2", "2-2", "3-1"]


def _slots(rng: random.Random) -> dict[str, str]:
    """One random filling of every slot."""
    return {
        "person": rng.choice(PEOPLE),
        "place": rng.choice(PLACES),
        "thing": rng.choice(THINGS),
        "verb": rng.choice(VERBS),
        "reaction": rng.choice(REACTIONS),
        "num": rng.choice(NUMBERS),
        "org": rng.choice(ORGS),
        "org2": rng.choice(ORGS).lower(),
        "action": rng.choice(ACTIONS),
        "subject": rng.choice(SUBJECTS),
        "when": rng.choice(WHEN),
        "stat": rng.choice(STATS),
        "thing2": rng.choice(THINGS2),
        "team": rng.choice(TEAMS),
        "comp": rng.choice(COMPS),
        "firm": rng.choice(FIRMS),
        "tech": rng.choice(TECH),
        "score": rng.choice(SCORES),
    }


def make_title(label: str, rng: random.Random, topics: Sequence[str] = ()) -> str:
    """A plausible headline for `label` (generic for unknown labels), before any LLM artefacts.

    `topics`: words the prompt asked to cover; like a model following instructions, most titles
    then take one of them as their subject.
    """
    slots = _slots(rng)
    if topics and rng.random() < 0.7:
        word = rng.choice(list(topics))
        slots.update(thing=word, subject=word, thing2=word, tech=word)
    low = label.lower()
    if low == "clickbait":
        return rng.choice(CLICKBAIT).format(**slots)
    if low == "factual":
        return rng.choice(FACTUAL).format(**slots)
    for name, templates in TOPICS.items():
        if name.lower() == low:
            return rng.choice(templates).format(**slots)
    return f"{slots['org']} {slots['action']} {slots['subject']} in {slots['place']} ({label})".replace(
        f" ({label})", ""
    )


# multi-label themes (prompts/news_themes.yaml): a lead phrase and subjects per theme, so a
# headline about several themes carries words of each, as a model that follows the prompt would
THEME_LEADS = {
    "Politics": [
        "Parliament in {place} votes on",
        "Ministers in {place} clash over",
        "Election candidates in {place} campaign on",
        "Government of {place} unveils a law on",
    ],
    "Economy": [
        "Prices in {place} climb after",
        "Markets in {place} slide over",
        "Employers in {place} cut jobs blaming",
        "Budget in {place} sets aside millions for",
    ],
    "Technology": [
        "Engineers in {place} build software for",
        "Start-up in {place} launches an app tracking",
        "Researchers in {place} train an AI model on",
        "Telecom firm in {place} rolls out broadband for",
    ],
    "Health": [
        "Hospitals in {place} warn doctors about",
        "Nurses in {place} report patients hit by",
        "Doctors in {place} link a disease outbreak to",
        "Public health officials in {place} study",
    ],
    "Environment": [
        "Climate scientists in {place} measure",
        "Conservation groups in {place} sue over",
        "Wildfire crews in {place} battle drought worsened by",
        "Pollution monitors in {place} track",
    ],
}
THEME_SUBJECTS = {
    "Politics": [
        "the new election law",
        "the coalition deal",
        "a ministerial vote",
        "the senate bill",
    ],
    "Economy": ["rising food prices", "higher interest rates", "trade tariffs", "the tax budget"],
    "Technology": ["AI chatbots", "satellite internet", "smartphone apps", "robot software"],
    "Health": ["hospital waiting lists", "a flu outbreak", "vaccine shortages", "cancer screening"],
    "Environment": ["record heatwaves", "river pollution", "coastal flooding", "forest wildfires"],
}


def make_theme_title(themes: Sequence[str], rng: random.Random) -> str:
    """A headline about every theme in `themes` (lead phrase of one, subjects of the others)."""
    known = [t for t in themes if t in THEME_LEADS]
    if not known:
        return make_title(themes[0] if themes else "news", rng)
    order = rng.sample(known, len(known))
    lead = rng.choice(THEME_LEADS[order[0]]).format(place=rng.choice(PLACES))
    subjects = [rng.choice(THEME_SUBJECTS[t]) for t in order[1:]] or [
        rng.choice(THEME_SUBJECTS[order[0]])
    ]
    tail = subjects[0] + "".join(f" amid {s}" for s in subjects[1:])
    return f"{lead} {tail} {rng.choice(WHEN)}"


_FUNCTION_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "in",
    "for",
    "on",
    "with",
    "and",
    "is",
    "after",
    "as",
    "at",
    "by",
    "from",
    "new",
    "how",
    "why",
    "what",
    "this",
    "you",
]


def _pseudo_words(n: int, rng: random.Random) -> list[str]:
    """n distinct pronounceable made-up words (a large vocabulary without a word list)."""
    onsets = [
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "j",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "w",
        "z",
        "br",
        "cr",
        "dr",
        "fl",
        "gr",
        "pl",
        "st",
        "tr",
        "ch",
        "sh",
    ]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"]
    words: set[str] = set()
    while len(words) < n:
        words.add(
            "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
        )
    return sorted(words)


def distinct_titles(
    n: int, seed: int = 0, planted_frac: float = 0.02
) -> tuple[list[str], list[tuple[int, int]]]:
    """n realistic-looking titles (Zipf word frequencies, 10-14 words) and planted one-word edits.

    The last `planted_frac` of the rows each copy an earlier original with one word replaced
    by a word not in it: (original, copy) pairs of word-set Jaccard >= 9/11 (> 0.8).
    """
    import numpy as np

    rng = random.Random(seed)
    real = sorted(
        {
            w.lower()
            for lst in (PEOPLE, PLACES, THINGS, VERBS, ORGS)
            for p in lst
            for w in p.split()
            if w.isalpha()  # one word token each: "wi-fi" would be two
        }
    )
    vocab = _FUNCTION_WORDS + real + _pseudo_words(40_000, rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 0.9  # Zipf-like: "the" far more than "zoo"
    npr = np.random.default_rng(seed)
    n_planted = int(n * planted_frac)
    n_orig = n - n_planted
    draws = npr.choice(len(vocab), size=(n_orig, 30), p=weights / weights.sum())
    lengths = npr.integers(10, 15, size=n_orig)
    ends = ["", "", "!", "?", "."]
    titles, word_lists = [], []
    for row, k in zip(draws.tolist(), lengths.tolist(), strict=True):
        words = list(dict.fromkeys(vocab[i] for i in row))[:k]  # distinct words, Zipf order kept
        rng.shuffle(words)
        if rng.random() < 0.05:  # "12 things ..." as clickbait does
            words.insert(0, str(rng.randint(3, 99)))
        word_lists.append(words)
        titles.append(" ".join(words).capitalize() + rng.choice(ends))
    planted = []
    sources = [
        i
        for i in npr.integers(0, n_orig, size=2 * n_planted + 10).tolist()
        if len(set(word_lists[i])) >= 10
    ]
    for src in sources[:n_planted]:
        words = list(word_lists[src])
        new = rng.choice(vocab)
        while new in words:
            new = rng.choice(vocab)
        words[rng.randrange(len(words))] = new
        planted.append((src, len(titles)))
        titles.append(" ".join(words).capitalize() + rng.choice(ends))
    return titles, planted
