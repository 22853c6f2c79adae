"""What writing to one path means: a disk, a system file, persistence, a dotfile, a kept file.

`write_target` is the one judge of a path a command writes, used by redirects, `tee`, `cp`,
`sort -o` and every rule that names an output file. The classes are tables of data:
persistence (files that run code later: shell start-up files, crontabs, autostart entries,
authorized_keys, git hooks), dotfiles (settings programs read), and the names of files people
keep (source, documents, configuration), which a truncating write would clobber.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import posixpath
import re

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.words import (
    DISK_RE,
    HARMLESS_DEVICE_RE,
    Word,
    word_set,
)

PERSISTENCE = "persistence"
CLOBBERING = "clobbering"
DOTFILE = "dotfile"

_SYSTEM_WRITE_RE = re.compile(
    r"^/(etc|usr|bin|sbin|boot|lib|lib32|lib64|sys|proc|var|opt|srv)(/|$)"
)
_HOME_PREFIX_RE = re.compile(r"^(~[^/]*|\$HOME|\$\{HOME\}|/home/[^/]+|/root|/Users/[^/]+)(?=/|$)")

# Files a shell, a login, a desktop session, an editor or a tool runs code from later.
_PERSISTENT_NAMES = word_set("""
    .bashrc .bash_profile .bash_login .bash_logout .bash_aliases .bash_functions .profile
    .zshrc .zshenv .zprofile .zlogin .zlogout .kshrc .mkshrc .cshrc .tcshrc .login .logout
    .inputrc .xinitrc .xprofile .xsession .xsessionrc .xserverrc .vimrc .gvimrc .exrc
    .emacs .tmux.conf .screenrc .gitconfig .npmrc .yarnrc .curlrc .wgetrc .pythonrc
    .pythonstartup .Rprofile .irbrc .pryrc .gdbinit .lldbinit .psqlrc .sqliterc .envrc
    .pam_environment .mailcap .perldb .bazelrc .pdbrc sitecustomize.py usercustomize.py
    authorized_keys authorized_keys2 crontab rc.local ld.so.preload
    """)
_PERSISTENT_PLACES = tuple(
    re.compile(pattern)
    for pattern in (
        r"(^|/)\.config/(llmos|fish|autostart|systemd/user|environment\.d|nvim|git|upstart|"
        r"plasma-workspace/env|lxsession|openbox)(/|$)",
        r"(^|/)\.local/share/(systemd/user|applications)(/|$)",
        r"(^|/)\.(bashrc|zshrc|profile|zsh|oh-my-zsh/custom|vim/plugin|vim/autoload)\.?d?(/|$)",
        r"(^|/)\.ssh/(rc|config|environment)$",
        r"(^|/)\.git/(hooks(/|$)|config$)",
        r"(^|/)\.(githooks|husky)(/|$)",
        r"(^|/)\.ipython/profile_\w+/startup(/|$)",
        r"(^|/)Library/(LaunchAgents|LaunchDaemons|StartupItems)(/|$)",
        r"site-packages/[^/]+\.pth$",
        r"^/etc/(cron[\w.]*|profile(\.d)?|bash\.bashrc|bashrc|zsh|environment|rc\.local|"
        r"init\.d|systemd|xdg/autostart|update-motd\.d|ld\.so\.preload|sudoers(\.d)?)(/|$)",
        r"^/(usr/)?lib/systemd(/|$)",
        r"^/var/spool/(cron|at)(/|$)",
    )
)
# Under a home folder only: programs there come first on PATH and stand in for real ones.
_HOME_PROGRAM_DIR_RE = re.compile(r"^(\.local/bin|bin)/[^/]+$")

# Names and extensions of files people keep: a truncating write (`> f`) replaces their content.
_KEPT_NAMES = word_set("""
    Makefile makefile GNUmakefile Dockerfile Containerfile Vagrantfile Jenkinsfile Gemfile
    Rakefile Procfile README LICENSE COPYING CHANGELOG NOTICE AUTHORS
    requirements.txt constraints.txt package.json package-lock.json yarn.lock Cargo.toml
    Cargo.lock go.mod go.sum pyproject.toml setup.py setup.cfg poetry.lock Pipfile
    """)
_KEPT_EXTENSIONS = word_set("""
    py pyi ipynb js mjs cjs ts tsx jsx c h cc cpp cxx hpp hh rs go java kt kts scala swift
    m mm rb php pl pm lua r jl cs fs vb sh bash zsh fish ps1 sql html htm css scss sass vue
    svelte md markdown rst tex bib org adoc doc docx odt rtf pdf ppt pptx odp xls xlsx
    ods csv tsv json jsonl yaml yml toml ini cfg conf xml plist properties env lock
    db sqlite sqlite3 kdbx gpg asc pem key crt
    jpg jpeg png gif svg webp heic tif tiff raw psd xcf mp3 flac wav ogg m4a mp4 mkv mov
    avi webm qcow2 vmdk
    """)


def home_relative(text: str) -> str | None:
    """The part of a path under a home folder (`~/.bashrc` gives `.bashrc`), or None."""
    match = _HOME_PREFIX_RE.match(text)
    if match is None:
        return None
    return text[match.end() :].lstrip("/")


def persistence_kind(text: str) -> str | None:
    """What runs code from the path later ("a shell start-up file"...), or None."""
    path = posixpath.normpath(text) if text.startswith("/") else text
    name = posixpath.basename(path.rstrip("/"))
    if name in ("authorized_keys", "authorized_keys2"):
        return "the SSH keys allowed to log in"
    if name in ("crontab",) or path.startswith(("/etc/cron", "/var/spool/")):
        return "scheduled jobs"
    if name in _PERSISTENT_NAMES:
        return "a start-up file that runs every time a shell or program starts"
    relative = home_relative(path)
    if relative is not None and _HOME_PROGRAM_DIR_RE.match(relative):
        return "a folder of programs that run in place of the real ones"
    for pattern in _PERSISTENT_PLACES:
        if pattern.search(relative if relative is not None else path):
            return "a place whose files run automatically later"
    return None


def is_dotfile(text: str) -> bool:
    """True when some part of the path is hidden (`.git/config`, `~/.cache/x`)."""
    parts = [p for p in text.split("/") if p]
    return any(p.startswith(".") and p not in (".", "..") for p in parts)


def looks_kept(text: str) -> bool:
    """True for a name people keep (`main.py`, `thesis.docx`, `Makefile`), not scratch output."""
    name = posixpath.basename(text.rstrip("/"))
    if name in _KEPT_NAMES:
        return True
    stem, dot, ext = name.rpartition(".")
    return bool(dot and stem and ext.lower() in _KEPT_EXTENSIONS)


def write_target(target: Word, verb: str, truncates: bool = False) -> tuple[Risk, str]:
    """The risk of writing to one file, and a sentence saying so and naming the class.

    `truncates` is set for writes that replace a file's content (`>`), so a kept file named as
    the target is clobbering, not a plain write.
    """
    text = target.text
    if DISK_RE.match(text) or (text.startswith("/dev/") and not HARMLESS_DEVICE_RE.match(text)):
        return Risk.DESTRUCTIVE, f"{verb} the device {text} directly"
    normal = posixpath.normpath(text) if text.startswith("/") else text
    system = bool(_SYSTEM_WRITE_RE.match(normal)) and not normal.startswith(("/var/tmp", "/tmp"))
    persistent = persistence_kind(text)
    if persistent is not None:
        risk = Risk.PRIVILEGED if system else Risk.DESTRUCTIVE
        return risk, f"{PERSISTENCE}: {verb} {text}, {persistent}"
    if system:
        return Risk.PRIVILEGED, f"{verb} the system file {text}"
    if is_dotfile(text):
        return Risk.DESTRUCTIVE, f"{DOTFILE}: {verb} {text}, settings that programs read"
    if truncates and looks_kept(text):
        return Risk.DESTRUCTIVE, f"{CLOBBERING}: {verb} {text}, replacing what it holds"
    if target.dynamic:
        return Risk.WRITE, f"{verb} a file named at run time ({text})"
    return Risk.WRITE, f"{verb} {text}"


def clobbers(target: Word, why: str) -> tuple[Risk, str]:
    """A write that empties or wrecks a file (`: > f`, `cp /dev/null f`)."""
    risk, reason = write_target(target, "empties", truncates=True)
    if risk.rank > Risk.DESTRUCTIVE.rank:
        return risk, reason
    return Risk.DESTRUCTIVE, f"{CLOBBERING}: {why}"
