"""The words of a fact the person states about themselves: the places, programs and
preferences it can name.

`memory.aliases` reads a fact with these tables: the words that only carry the sentence
("keep", "lives", "under"), the roles a program plays ("editor", "browser"), and the
subjects of a preference with the values it takes ("sizes" in "MB"). Nothing else spells
them.
"""

from __future__ import annotations

# Words that carry a fact's sentence and not the name of what it is about: "I keep the band
# photos under ~/Pictures/gigs", "~/code is where my projects live", "thesis: ~/uni/thesis".
FACT_FILLER = frozenset(
    """i im i'm we our ours my mine me you your the a an that this these those it its is are
    was were be been am 's live lives living sit sits go goes went keep keeps kept store
    stores stored save saves saved put puts have has had lie lies located found sitting
    where in at under on into inside onto to within from of which all always usually now
    remember note please know also just there here can be get gets end ends up old new older
    newer current latest""".split()
)
# Determiners and possessives: "my thesis" and "the thesis" name the same thing.
DETERMINERS = frozenset({"my", "the", "our", "a", "an", "your", "his", "her", "their", "of"})

# The roles a program plays, by the words people use for them ("my editor is helix").
PROGRAM_ROLES: dict[str, str] = {
    word: role
    for role, words in (
        ("editor", "editor editors"),
        ("browser", "browser browsers"),
        ("terminal", "terminal"),
        ("shell", "shell"),
        ("pager", "pager"),
        ("mail client", "mailer"),
        ("file manager", "filemanager"),
        ("music player", "player"),
        ("image viewer", "viewer"),
        ("ide", "ide"),
    )
    for word in words.split()
}
# Words that say a program or a value is the person's choice; they carry no name.
CHOICE_WORDS = frozenset(
    """use uses using prefer prefers preferred like likes want wants favourite favorite
    default usual usually as for with by text code web go-to goto main instead rather
    than always show shown see display displayed print printed give given written write""".split()
)

# A preference: the words that name its subject, and the table its value is read from.
# "sizes in MB", "show me file sizes in GiB", "I like disk sizes in gigabytes".
PREFERENCE_SUBJECTS: dict[str, frozenset[str]] = {
    "size_unit": frozenset({"size", "sizes", "filesize", "filesizes", "bytes", "space"}),
}

# Words of a question about the person as a whole ("what do you know about me?"): a recall
# whose words are all here, fillers aside, lists every fact instead of the closest.
ABOUT_THE_PERSON = frozenset(
    """me myself i you about know knows knew remember remembered recall what whats do does
    did tell say said everything anything something things stuff all facts fact notes memories
    memory learned learnt so far far list show give have has any""".split()
)

# A request that states a fact instead of asking for something opens with the person or
# their thing and links it to a place, program or preference with one of these words:
# "my projects are in ~/code", "I keep the photos under ~/pics", "i prefer sizes in MB".
STATEMENT_OPENERS = frozenset({"i", "i'm", "im", "we", "we're", "my", "our", "the"})
LINKING_WORDS = frozenset(
    """is are am live lives sit sits go goes keep keeps kept store stores stored save saves
    saved prefer prefers like likes use uses want wants""".split()
)
