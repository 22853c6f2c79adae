"""The words people use when they name a thing instead of writing its path or its pid.

One table per fact: what kind of file a word means ("video", "installer"), words that order a
set ("the biggest", "the newest"), ordinals ("the second one"), words that only mean
"everything" ("all", "files"), and the words of a request that takes back the last change
("oops, undo that"). The resolver in planning reads these; nothing else spells them.
"""

from __future__ import annotations

# A word of a description and the extensions of the files it means.
TYPE_WORDS: dict[str, frozenset[str]] = {
    word: frozenset(exts.split())
    for words, exts in (
        ("video videos movie movies film clip recording", "mp4 mkv mov avi webm m4v"),
        (
            "photo photos picture pictures image images pic pics screenshot",
            "jpg jpeg png heic gif webp",
        ),
        ("song songs music audio track tracks podcast", "mp3 flac wav ogg m4a opus"),
        ("document documents doc docs", "pdf docx doc odt txt md rtf"),
        ("letter letters", "pdf docx doc odt txt"),
        ("spreadsheet spreadsheets sheet", "xlsx xls csv ods"),
        ("slides presentation deck", "pptx ppt odp key"),
        ("archive archives zip zips tarball", "zip tar gz tgz 7z rar xz bz2"),
        ("installer installers package", "deb rpm dmg exe msi pkg appimage"),
        ("iso isos", "iso img"),
        ("pdf pdfs", "pdf"),
        ("script scripts", "sh py js rb pl"),
        ("log logs", "log"),
        ("ebook book", "epub mobi pdf"),
    )
    for word in words.split()
}

# Words that say which one of several is meant, and how to order them to find it.
ORDER_WORDS: dict[str, tuple[str, bool]] = {  # word: (field, highest first)
    "biggest": ("size", True),
    "largest": ("size", True),
    "huge": ("size", True),
    "heaviest": ("size", True),
    "smallest": ("size", False),
    "tiniest": ("size", False),
    "newest": ("mtime", True),
    "latest": ("mtime", True),
    "recent": ("mtime", True),
    "oldest": ("mtime", False),
}
ORDINALS: dict[str, int] = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}

# Words of a request that carry no part of a description: articles, pronouns, verbs of the
# file tools, filler. A word here never matches an entry's name.
FILLER_WORDS = frozenset(
    """a an the my our your his her its it this that these those them one ones some any all
    of in into inside from to at on under over out off up down for with by and or but so
    please can could would you i me we us is are was were be been get got rid throw away
    remove delete del rm trash erase drop move mv put copy cp duplicate open show read cat
    view display see find locate where whats what which file files folder folders dir
    directory thing things stuff item items named called there here now just only again
    huge big large small old new its it's im i'm want need let lets bin kill stop end quit
    close terminate process processes program app running run server""".split()
)

# Values that name a tool's whole domain, not a part of it: as a filter they filter nothing.
EVERYTHING_WORDS = frozenset(
    {"all", "every", "everything", "any", "anything", "each", "whole", "entire", "*"}
)

# A request that takes back the last change: it holds one of TRIGGERS and nothing but
# words of UNDO_WORDS ("oops, undo that", "take that back", "revert the last change").
UNDO_TRIGGERS = frozenset({"undo", "oops", "whoops", "revert", "unmake", "undelete"})
UNDO_PAIRS = (("take", "back"), ("put", "back"), ("ctrl", "z"))
UNDO_WORDS = frozenset(
    """undo oops whoops revert unmake undelete take put back ctrl z that it this the last
    thing do change action step move delete deletion please no wait mistake my bad i did didn't
    didnt mean to made a just what you what's done again ugh sorry can could would thats
    that's command one""".split()
)

# How a question of general knowledge opens ("what is a symlink?"), and the words that make
# it a question about this machine instead ("what is in my downloads").
KNOWLEDGE_OPENERS = (
    "what is",
    "what's",
    "whats",
    "what are",
    "what does",
    "what do",
    "how does",
    "how do",
    "why does",
    "why do",
    "why is",
    "explain",
    "define",
    "what is the difference",
    "tell me about",
    "what's the difference",
    "who invented",
    "what means",
)
ABOUT_THIS_MACHINE = frozenset(
    """my mine here this these running installed free left used using open size big bigger
    biggest largest space disk memory ram cpu ip port ports downloads documents desktop home
    taking eating""".split()
)
