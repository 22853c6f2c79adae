"""The words people use for places: "here", "my home", "downloads", and their common typos.

The planner's request reader and its argument normaliser both read these tables, so "the
download folder" means `~/Downloads` to both.
"""

from __future__ import annotations

import re

# The standard folders of a home (freedesktop's user dirs), by the word people use. ("Public"
# is left out: in a request it is far more often an adjective than a folder.)
HOME_FOLDERS: dict[str, str] = {
    name.lower(): f"~/{name}"
    for name in ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Videos")
}
# Other ways of naming them.
FOLDER_SYNONYMS: dict[str, str] = {
    "docs folder": "~/Documents",
    "download folder": "~/Downloads",
    "photos folder": "~/Pictures",
}
HOME_PHRASES = frozenset(
    {
        "home",
        "my home",
        "home folder",
        "my home folder",
        "home dir",
        "home directory",
        "my home directory",
    }
)
HERE_PHRASES = frozenset(
    {
        "here",
        "this folder",
        "this directory",
        "this dir",
        "current folder",
        "current directory",
        "current dir",
        "the current folder",
        "the current directory",
        "cwd",
        "pwd",
        "$pwd",
        "./",
    }
)
# Phrases that point at the working folder inside a longer request ("in this project").
HERE_IN_TEXT = re.compile(
    r"\b(?:here|this (?:folder|directory|dir|project|repo|codebase)|"
    r"current (?:folder|directory|dir))\b"
)
# A path written out in a sentence ("~/code", "/var/log", "./notes"), not inside a word.
WRITTEN_PATH = r"(?:~|\.{1,2})?/[^\s'\"`,;()]*"
PATH_IN_TEXT = re.compile(rf"(?<![\w/])(?:{WRITTEN_PATH})")
FOLDER_TYPOS: dict[str, str] = {
    "dwonloads": "downloads",
    "dwnloads": "downloads",
    "donwloads": "downloads",
    "downlods": "downloads",
    "documnets": "documents",
    "desktp": "desktop",
    "pictrues": "pictures",
    "vidoes": "videos",
}


def place_phrases() -> dict[str, str]:
    """Every phrase that names a folder, with the path it means: the named folders first,
    then the home folder (in "from downloads to my home folder" the folder is the subject)."""
    home = sorted(HOME_PHRASES, key=lambda phrase: (-len(phrase), phrase))
    return {**HOME_FOLDERS, **FOLDER_SYNONYMS, **dict.fromkeys(home, "~")}
