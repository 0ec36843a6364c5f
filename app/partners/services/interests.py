"""What a guest is interested in, read from their profile, for recommending experiences.

The profile has no "interests" field. With the guest's `profiling` consent (and only then), interests are derived:
- each `diet` entry that names an interest (vegetarian, vegan, halal, kosher, gluten_free);
- interest words found in the free-text `notes` (English and Russian stems, e.g. "wine"/"вин", "hiking"/"поход");
- `kids` and `family` when a child is among the guest's family members.
Allergies are not used: they say what to avoid, not what to seek.
"""

from __future__ import annotations

import re
from typing import Any

from app.guests.models import ConsentPurpose
from app.guests.services.profile import has_consent

# The tags an offering may carry; guests' interests are drawn from the same words.
INTERESTS = ("food", "wine", "vegetarian", "vegan", "halal", "kosher", "gluten_free", "kids", "family", "history",
             "culture", "nature", "hiking", "sea", "adventure", "wellness", "nightlife", "shopping", "accessible")
DIET_INTERESTS = frozenset({"vegetarian", "vegan", "halal", "kosher", "gluten_free"})
# Word beginnings (regular expressions) looked for in a guest's notes, case-folded, English and Russian.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "food": (r"food", r"cuisine", r"gastro", r"еда", r"кухн", r"гастро"),
    "wine": (r"wine", r"вин[оа]", r"винн"),
    "vegetarian": (r"vegetarian", r"вегетариан"),
    "vegan": (r"vegan", r"веган"),
    "history": (r"histor", r"museum", r"истори", r"музе"),
    "culture": (r"culture", r"art\b", r"arts\b", r"theat", r"культур", r"искусств", r"театр"),
    "nature": (r"nature", r"mountain", r"природ", r"горы", r"горн"),
    "hiking": (r"hik(e|ing)", r"trek", r"поход", r"трек"),
    "sea": (r"sea\b", r"beach", r"boat", r"yacht", r"diving", r"мор[еяю]", r"пляж", r"яхт", r"дайв"),
    "adventure": (r"adventure", r"rafting", r"paraglid", r"приключ", r"рафтинг", r"параплан"),
    "wellness": (r"spa\b", r"massage", r"wellness", r"yoga", r"спа\b", r"массаж", r"йог"),
    "nightlife": (r"nightlife", r"club", r"bars?\b", r"клуб", r"бары?\b"),
    "shopping": (r"shopping", r"шопинг", r"магазин"),
    "accessible": (r"wheelchair", r"accessib", r"коляск", r"инвалид"),
}
_PATTERNS = {tag: re.compile(r"\b(?:" + "|".join(stems) + ")") for tag, stems in KEYWORDS.items()}


def _normalise(entry: str) -> str:
    return entry.strip().casefold().replace("-", "_").replace(" ", "_")


def interests_from(*, diet: list[str], notes: str | None, has_child: bool) -> set[str]:
    """The interest tags a profile's diet, notes and family imply."""
    found = {_normalise(item) for item in diet} & DIET_INTERESTS
    text = (notes or "").casefold()
    found |= {tag for tag, pattern in _PATTERNS.items() if pattern.search(text)}
    if has_child:
        found |= {"kids", "family"}
    return found


def guest_interests(guest: Any) -> set[str]:
    """The guest's interests, or none without their consent to profiling."""
    if not has_consent(guest_id=guest.id, purpose=ConsentPurpose.PROFILING):
        return set()
    preferences = guest.preferences
    return interests_from(
        diet=list(preferences.diet or []) if preferences else [],
        notes=preferences.notes if preferences else None,
        has_child=any(member.relation == "child" for member in guest.family),
    )
