"""How a request points back at the turn before: "it", "those", "the same in ...", "and ...?".

A request that reads as a follow-up gets the turn before it as context; one that does not is
planned on its own words alone, so an earlier call (a declined one least of all) never
comes back uninvited and its values never leak into an unrelated request.
"""

from __future__ import annotations

import re

# Words that refer to something said or shown before ("the second one", "those", "in there").
_REFERRING = re.compile(
    r"\b(?:it|those|them|these|this one|that one|the one|ones|same|instead|as well|both|"
    r"each of them|all of them|the rest|in there|from there|over there|do that)\b"
    r"|\bthe (?:first|second|third|fourth|fifth|last|other|next|previous|[\w.-]+) ones?\b"
    r"|\bthe (?:second|third|fourth|fifth|other|previous)\s*[?.!]*\s*$"
    r"|\bthere\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# Openings that continue the turn before ("and on the desktop?", "only the big ones").
_OPENINGS = re.compile(
    r"^\s*(?:and|or|but|also|only|just the|now|then|same|what about|how about|"
    r"sort(?:ed)? by|make it|try|except|without|plus)\b",
    re.IGNORECASE,
)
# Requests that stand alone however they read.
_STANDALONE = re.compile(
    r"^\s*(?:(?:thanks?|thank you|cool|great|nice|perfect|ok(?:ay)?)\b|"
    r"(?:hi|hey|hello|good (?:morning|afternoon|evening))(?: there)?)[\s,.!]*\w{0,12}[\s.!?]*$",
    re.IGNORECASE,
)


def reads_as_follow_up(request: str) -> bool:
    """Whether a request builds on the turn before it ("kill it", "and the pdfs?")."""
    if _STANDALONE.match(request):
        return False
    opening = re.sub(r"^\s*(?:ok(?:ay)?|so|well|hmm+|right)\b[\s,]*", "", request, flags=re.I)
    if _OPENINGS.match(opening) or _REFERRING.search(request):
        return True
    # "that" points back when at most a word follows it in its clause ("kill that", "undo
    # that delete", "where did that go?"), not when it opens one ("note that the nas...").
    for clause in re.split(r"[,;.!?]", request.lower()):
        words = re.findall(r"[\w'-]+", clause)
        if "that" in words and len(words) - words.index("that") - 1 <= 1:
            return True
    return False
