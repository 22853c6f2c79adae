"""Rules for archives and package files: `tar`, `unzip`, `gzip`, `dpkg`, `rpm`, `pacman`.

Each lists the options it knows (an allow-list); an option it does not know is unknown, since
these programs have options that run other programs (`tar --to-command`, `rpm --eval`).
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.catastrophes import critical_dir, describe_dir
from llmos_shell.safety.shell.targets import write_target
from llmos_shell.safety.shell.words import (
    JudgedCommand,
    Rule,
    Word,
    is_option,
    long_options,
    short_letters,
    word_set,
)

_TAR_MODES = "ctxruAd"
_TAR_FLAGS = set("vzjJaZkKpPhOmoSWwUBiGMnlq") | set(_TAR_MODES)
_TAR_VALUES = set("fCTXbNgVLHsE")
_TAR_RUNS = {"I": "-I", "F": "-F"}
_TAR_LONG = word_set("""
    --list --extract --get --create --append --update --diff --compare --delete --file
    --directory --gzip --gunzip --ungzip --bzip2 --xz --lzma --zstd --lzip --lzop
    --auto-compress --no-auto-compress --verbose --exclude --exclude-from --exclude-vcs
    --exclude-vcs-ignores --exclude-caches --exclude-caches-all --exclude-caches-under
    --exclude-backups --exclude-tag --exclude-tag-all --exclude-tag-under --files-from
    --strip-components --wildcards --no-wildcards --anchored --no-anchored --ignore-case
    --no-ignore-case --keep-old-files --skip-old-files --keep-newer-files --overwrite
    --overwrite-dir --no-overwrite-dir --preserve-permissions --same-permissions
    --no-same-permissions --same-owner --no-same-owner --numeric-owner --owner --group --mode
    --mtime --sort --totals --transform --xform --show-transformed-names --one-file-system
    --dereference --hard-dereference --null --no-null --no-recursion --recursion --occurrence
    --to-stdout --warning --label --format --posix --sparse --atime-preserve --touch
    --full-time --utc --block-number --checkpoint --index-file --level --listed-incremental
    --incremental --newer --after-date --newer-mtime --check-links --blocking-factor
    --record-size --force-local --no-xattrs --xattrs --acls --no-acls --selinux --no-selinux
    --ignore-failed-read --ignore-zeros --restrict --usage --verify --backup --suffix
    --delay-directory-restore --no-delay-directory-restore --keep-directory-symlink
    --absolute-names --remove-files --unlink-first --recursive-unlink --show-omitted-dirs
    --show-defaults --interactive --confirmation --multi-volume --tape-length --seek
    --no-seek --quoting-style --quote-chars --no-quote-chars --hole-detection --clamp-mtime
    --pax-option --preserve-order --same-order --starting-file --no-unquote --unquote
    --volno-file --exclude-ignore --exclude-ignore-recursive --help --version
    """)
_TAR_RUNS_LONG = word_set("""
    --to-command --use-compress-program --checkpoint-action --info-script --new-volume-script
    --rsh-command --rmt-command
    """)
_REMOTE_ARCHIVE_RE = re.compile(r"^[^/]*:")


def _rule_tar(c: JudgedCommand) -> None:
    args = c.args
    letters = ""
    if args and not is_option(args[0]) and re.fullmatch(r"[A-Za-z]+", args[0].text):
        letters = args[0].text  # old style: `tar czf out.tgz dir`
    letters += short_letters(args, "".join(_TAR_VALUES))
    longs = long_options(args)
    for letter in letters:
        if letter in _TAR_RUNS:
            c.find(Risk.UNKNOWN, f"tar {_TAR_RUNS[letter]} runs another program")
        elif letter not in _TAR_FLAGS and letter not in _TAR_VALUES:
            c.find(Risk.UNKNOWN, f"tar -{letter} is an option not known to be safe")
    for name in longs:
        if name in _TAR_RUNS_LONG:
            c.find(Risk.UNKNOWN, f"tar {name} runs another program")
        elif name not in _TAR_LONG:
            c.find(Risk.UNKNOWN, f"tar {name} is an option not known to be safe")
    archive = _tar_value(args, "f", "--file")
    if archive and _REMOTE_ARCHIVE_RE.match(archive) and "--force-local" not in longs:
        c.find(Risk.NETWORK, f"tar -f {archive} reaches another machine")
    extracting = "x" in letters or longs & {"--extract", "--get"}
    if extracting:
        c.find(Risk.WRITE, "tar unpacks files, replacing any with the same names")
        where = _tar_value(args, "C", "--directory")
        critical = critical_dir(where, working_tree=False) if where else None
        if critical:
            c.find(
                Risk.PRIVILEGED if critical.startswith("/") else Risk.DESTRUCTIVE,
                f"tar unpacks over {describe_dir(critical)}",
            )
        if "P" in letters or "--absolute-names" in longs:
            c.find(Risk.PRIVILEGED, "tar -P unpacks files to the full paths the archive names")
    if set(letters) & set("cruA") or longs & {"--create", "--append", "--update", "--delete"}:
        c.find(Risk.WRITE, "tar writes an archive")
        if archive and archive != "-":
            c.find(*write_target(Word(archive), "tar writes to", truncates="c" in letters))
    if "--remove-files" in longs:
        c.find(Risk.DESTRUCTIVE, "tar --remove-files deletes the files it archives")
    listing = "t" in letters or "d" in letters or longs & {"--list", "--diff", "--compare"}
    if (
        not (listing or extracting)
        and not set(letters) & set("cruA")
        and not longs
        & {"--create", "--append", "--update", "--delete", "--help", "--version", "--usage"}
    ):
        c.find(Risk.WRITE, "tar creates or unpacks archives")


def _tar_value(words: Sequence[Word], short: str, long: str) -> str:
    """The value of a tar option (`-f x`, `-czf x`, `--file=x`, old style `tar czf x`)."""
    for i, arg in enumerate(words):
        text = arg.text
        if text.startswith(long + "="):
            return text.split("=", 1)[1]
        if text == long or (is_option(arg) and not text.startswith("--") and text.endswith(short)):
            return words[i + 1].text if i + 1 < len(words) else ""
    if words and not is_option(words[0]) and short == "f" and "f" in words[0].text:
        return words[1].text if len(words) > 1 else ""
    return ""


def _rule_unzip(c: JudgedCommand) -> None:
    if not set(short_letters(c.args, "dxP")) & {"l", "Z", "t", "v", "p", "c", "z"}:
        c.find(Risk.WRITE, "unzip unpacks files")


def _rule_compress(c: JudgedCommand) -> None:
    letters = set(short_letters(c.args, "S"))
    longs = long_options(c.args)
    if letters & {"c", "l", "t"} or longs & {"--stdout", "--to-stdout", "--list", "--test"}:
        return
    c.find(Risk.WRITE, f"{c.prog} replaces files with (de)compressed copies")


_DPKG_READ = word_set("""
    -l --list -L --listfiles -s --status -S --search -p --print-avail -c --contents -I --info
    -f --field --get-selections --print-architecture --print-foreign-architectures
    --compare-versions -V --verify -C --audit --yet-to-unpack --fsys-tarfile --help --version
    --force-help --no-pager
    """)
_DPKG_EXTRACT = word_set("-x --extract -X --vextract")


def _rule_dpkg(c: JudgedCommand) -> None:
    args = c.args
    for i, arg in enumerate(args):
        if not is_option(arg):
            continue
        name = arg.text.split("=", 1)[0]
        if name in _DPKG_READ or name.startswith("--admindir"):
            continue
        if name in _DPKG_EXTRACT:
            dest = args[i + 2] if i + 2 < len(args) else None
            c.find(Risk.WRITE, "dpkg -x unpacks a package's files")
            if dest is not None:
                critical = critical_dir(dest.text, working_tree=False)
                if critical:
                    c.find(Risk.PRIVILEGED, f"dpkg -x unpacks over {describe_dir(critical)}")
                else:
                    risk, reason = write_target(dest, "dpkg -x writes into")
                    if risk.rank > Risk.WRITE.rank:
                        c.find(risk, reason)
            continue
        c.find(Risk.PRIVILEGED, f"dpkg {name} installs, removes or changes software")
        return


_RPM_QUERY = set("qaiIlfpcdRsv") | {"V"}
_RPM_QUERY_LONG = word_set("""
    --query --all --info --list --file --package --configfiles --docfiles --requires
    --provides --whatprovides --whatrequires --changelog --scripts --last --dump --state
    --filesbypkg --queryformat --qf --verify --help --version --quiet --verbose --conflicts
    --obsoletes --triggers --nosignature --nodigest --changes --xml --recommends --suggests
    --supplements --enhances --whatrecommends --whatsuggests --fileprovides --querytags
    """)
_RPM_CODE = word_set("--eval --define --macros --rcfile --load --pipe --dbpath --root -E -D")
_RPM_INSTALL = set("iUFe")


def _rule_rpm(c: JudgedCommand) -> None:
    args = c.args
    for i, arg in enumerate(args):
        if not is_option(arg):
            continue
        text = arg.text
        name = text.split("=", 1)[0]
        value = (
            text.split("=", 1)[1]
            if "=" in text
            else (args[i + 1].text if i + 1 < len(args) else "")
        )
        if name in _RPM_CODE or name in ("-E", "-D"):
            c.find(Risk.UNKNOWN, f"rpm {name} expands macros, which can run commands")
        elif name in ("--queryformat", "--qf") and re.search(r"%\(|%\{lua|%\{expand", value):
            c.find(Risk.UNKNOWN, "rpm --queryformat holds a macro that can run commands")
        elif name.startswith("--"):
            if name not in _RPM_QUERY_LONG:
                c.find(Risk.PRIVILEGED, f"rpm {name} installs, removes or changes software")
        else:
            letters = set(text[1:])
            if not letters & {"q", "V"} and letters & _RPM_INSTALL:
                c.find(Risk.PRIVILEGED, "rpm installs or removes software")
            elif letters - _RPM_QUERY - {"q", "V"}:
                c.find(Risk.UNKNOWN, f"rpm {text} is an option not known to be safe")


def _rule_pacman(c: JudgedCommand) -> None:
    letters = short_letters(c.args)
    if letters[:1] == "Q" or (
        letters[:1] == "S" and set(letters[1:]) <= set("silgpqw") and set(letters[1:]) & set("sil")
    ):
        return
    c.find(Risk.PRIVILEGED, "pacman installs or removes software")


ARCHIVE_RULES: dict[str, Rule] = {
    "tar": _rule_tar,
    "unzip": _rule_unzip,
    **dict.fromkeys(
        ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4", "brotli"),
        _rule_compress,
    ),
    "dpkg": _rule_dpkg,
    "rpm": _rule_rpm,
    "pacman": _rule_pacman,
}
