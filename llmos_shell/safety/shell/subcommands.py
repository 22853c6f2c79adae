"""Rules for programs judged by their subcommand: `apt install`, `docker rm`, `git push`.

Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.targets import PERSISTENCE
from llmos_shell.safety.shell.words import (
    JudgedCommand,
    Rule,
    Word,
    is_option,
    long_options,
    positionals,
    short_letters,
    word_set,
)

# --- services -----------------------------------------------------------------------------

_SYSTEMCTL_READ = word_set(
    """status show cat list-units list-unit-files list-sockets list-timers list-jobs
    list-dependencies list-machines list-automounts list-paths is-active is-enabled is-failed
    is-system-running get-default show-environment help"""
)
_SYSTEMCTL_PERSIST = word_set(
    "enable reenable link edit add-wants add-requires preset preset-all "
    "set-property revert set-environment import-environment"
)
_SYSTEMCTL_POWER = word_set(
    """poweroff reboot halt kexec suspend hibernate hybrid-sleep suspend-then-hibernate
    rescue emergency soft-reboot"""
)


def _rule_systemctl(c: JudgedCommand) -> None:
    positional = positionals(
        c.args,
        "tpHMnos",
        word_set(
            "--type --property --state --host --machine --lines --output --root --signal "
            "--kill-whom --job-mode"
        ),
    )
    if not positional:
        return
    sub = positional[0].text
    if sub in _SYSTEMCTL_READ:
        return
    if sub in _SYSTEMCTL_POWER:
        c.find(Risk.PRIVILEGED, f"systemctl {sub} stops or restarts the machine")
    elif "--user" in long_options(c.args) and sub in _SYSTEMCTL_PERSIST:
        c.find(
            Risk.DESTRUCTIVE,
            f"{PERSISTENCE}: systemctl --user {sub} makes a service start on its own later",
        )
    elif "--user" in long_options(c.args):
        c.find(Risk.WRITE, f"systemctl {sub} changes your user services")
    else:
        c.find(Risk.PRIVILEGED, f"systemctl {sub} changes system services")


def _rule_service(c: JudgedCommand) -> None:
    positional = [p.text for p in positionals(c.args)]
    if "--status-all" in long_options(c.args) or positional[1:2] == ["status"]:
        return
    c.find(Risk.PRIVILEGED, "service starts or stops system services")


# --- package managers and other programs with a table of subcommands ---------------------


@dataclass(frozen=True)
class Subcommands:
    """Risks of a program by its first positional argument (`apt install`, `git push`)."""

    read_only: frozenset[str]
    network: frozenset[str] = frozenset()
    destructive: frozenset[str] = frozenset()
    default: Risk = Risk.WRITE
    reason: str = "{prog} {sub} changes things"
    none: Risk = Risk.READ_ONLY  # risk with no subcommand
    unknown: frozenset[str] = frozenset()  # run code that is not checked (`npm run`, `docker run`)
    unknown_reason: str = "{prog} {sub} runs code that is not checked"


def _table(
    read_only: str,
    network: str = "",
    destructive: str = "",
    default: Risk = Risk.WRITE,
    reason: str = "{prog} {sub} changes things",
    none: Risk = Risk.READ_ONLY,
    unknown: str = "",
    unknown_reason: str = "{prog} {sub} runs code that is not checked",
) -> Subcommands:
    return Subcommands(
        frozenset(read_only.split()),
        frozenset(network.split()),
        frozenset(destructive.split()),
        default,
        reason,
        none,
        frozenset(unknown.split()),
        unknown_reason,
    )


def _packages(read_only: str) -> Subcommands:
    """A package manager: read-only subcommands listed, any other needs root."""
    return _table(
        read_only, default=Risk.PRIVILEGED, reason="{prog} {sub} installs or removes software"
    )


SUBCOMMAND_TABLES: dict[str, Subcommands] = {
    **dict.fromkeys(
        ("apt", "apt-get", "aptitude"),
        _packages("list search show showsrc policy depends rdepends changelog help madison"),
    ),
    **dict.fromkeys(
        ("dnf", "yum", "microdnf"),
        _packages(
            "list info search provides whatprovides repolist repoquery check-update "
            "history deplist help"
        ),
    ),
    "zypper": _packages(
        "se search info if lr repos ls services pa packages patches lu list-updates pch"
    ),
    "apk": _packages("info search list policy stats dot version"),
    "snap": _packages(
        "list find info version services logs changes connections interfaces aliases"
    ),
    "flatpak": _packages("list info search remotes remote-ls history ps"),
    "brew": _packages(
        "list ls info search deps uses leaves outdated config doctor desc cat log home"
    ),
    **dict.fromkeys(
        ("pip", "pip3"),
        _table(
            "list show freeze check help inspect debug hash completion",
            network="search index",
            reason="{prog} {sub} changes installed packages",
            unknown="install download wheel",
            unknown_reason="download and execute: {prog} {sub} can run the build code of the "
            "packages it fetches",
        ),
    ),
    **dict.fromkeys(
        ("npm", "pnpm", "bun"),
        _table(
            "ls list la ll help version root prefix bin explain why",
            network="audit outdated view info show search login",
            reason="{prog} {sub} changes packages",
            unknown="install i in ci add update up upgrade exec x create init dlx run "
            "run-script test t start restart stop publish rebuild pack",
            unknown_reason="{prog} {sub} runs package or project scripts, which are not checked",
        ),
    ),
    "yarn": _table(
        "list info why help",
        reason="yarn {sub} changes packages",
        none=Risk.UNKNOWN,
        unknown="install add upgrade up dlx create run test start exec publish",
        unknown_reason="yarn {sub} runs package or project scripts, which are not checked",
    ),
    **dict.fromkeys(
        ("docker", "podman"),
        _table(
            "ps images logs inspect version info stats top port history events diff",
            network="pull login search",
            destructive="rm rmi kill prune",
            reason="{prog} {sub} changes containers or images",
            unknown="run exec build create start compose buildx push cp container image "
            "network volume system context node service stack secret config plugin",
            unknown_reason="{prog} {sub} runs a container's code or moves data in or out",
        ),
    ),
    "kubectl": _table(
        "",
        network="get describe logs top explain api-resources api-versions cluster-info version",
        destructive="delete drain",
        default=Risk.UNKNOWN,
        reason="kubectl {sub} changes the cluster, which is not checked",
    ),
    "resolvectl": _table(
        "status statistics",
        network="query",
        default=Risk.PRIVILEGED,
        reason="resolvectl {sub} changes DNS settings",
    ),
    "systemd-analyze": _table(
        "time blame critical-chain plot dot dump verify security calendar timespan timestamp "
        "unit-paths cat-config condition syscall-filter",
        default=Risk.PRIVILEGED,
        reason="systemd-analyze {sub} changes system settings",
    ),
    "loginctl": _table(
        "list-sessions session-status show-session list-users user-status show-user list-seats "
        "seat-status show-seat",
        default=Risk.PRIVILEGED,
        reason="loginctl {sub} changes or ends sessions",
    ),
    "pactl": _table(
        "list info stat get-default-sink get-default-source get-sink-volume get-sink-mute "
        "get-source-volume get-source-mute",
        reason="pactl {sub} changes sound settings",
    ),
    "apt-cache": _table(
        "search show showsrc showpkg policy depends rdepends pkgnames madison stats dump "
        "dumpavail unmet xvcg dotty",
        reason="apt-cache {sub} rebuilds the package cache",
    ),
    **dict.fromkeys(
        ("hostnamectl", "timedatectl", "localectl"),
        _table(
            "status show list-timezones list-locales list-keymaps timesync-status show-timesync",
            default=Risk.PRIVILEGED,
            reason="{prog} {sub} changes system settings",
        ),
    ),
}
_NETWORK_REASON = "{prog} {sub} downloads from the network"


def subcommand_rule(prog: str, table: Subcommands, c: JudgedCommand, args: Sequence[Word]) -> None:
    """Judge `prog` by its first operand in `args`, looked up in `table`."""
    positional = [a for a in args if not is_option(a)]
    if not positional:
        if table.none is not Risk.READ_ONLY:
            c.find(table.none, f"{prog} installs packages, running their scripts")
        return
    sub_word = positional[0]
    sub = sub_word.text
    if sub_word.dynamic:
        c.find(Risk.UNKNOWN, f"{prog} runs a subcommand only known at run time")
    elif sub in table.read_only:
        return
    elif sub in table.unknown:
        c.find(Risk.UNKNOWN, table.unknown_reason.format(prog=prog, sub=sub))
    elif sub in table.network:
        c.find(Risk.NETWORK, _NETWORK_REASON.format(prog=prog, sub=sub))
    elif sub in table.destructive or (
        table.destructive and any(p.text in ("rm", "prune", "remove") for p in positional[1:])
    ):
        c.find(Risk.DESTRUCTIVE, f"{prog} {sub} deletes containers, images or data")
    else:
        c.find(table.default, table.reason.format(prog=prog, sub=sub))


_CONTAINER_GROUPS = word_set(
    "compose container image network volume system context node service stack secret config "
    "plugin buildx manifest trust"
)
_CONTAINER_GROUP_READ = word_set(
    "ls list ps inspect logs df info show history top port images version config events"
)


def _rule_table(c: JudgedCommand) -> None:
    if c.prog in ("docker", "podman"):
        words = [a for a in c.args if not is_option(a)]
        if len(words) >= 2 and words[0].text in _CONTAINER_GROUPS:
            if words[1].text in _CONTAINER_GROUP_READ and not words[1].dynamic:
                return  # `docker network ls`, `docker compose ps`
            if words[1].text in ("rm", "prune", "down", "kill", "remove"):
                c.find(
                    Risk.DESTRUCTIVE,
                    f"{c.prog} {words[0].text} {words[1].text} deletes containers, images or data",
                )
                return
    subcommand_rule(c.prog, SUBCOMMAND_TABLES[c.prog], c, c.args)


# --- git ----------------------------------------------------------------------------------

_GIT_READ = word_set(
    """status log diff show blame annotate shortlog describe rev-parse rev-list ls-files
    ls-tree cat-file grep whatchanged version help count-objects name-rev merge-base for-each-ref
    show-ref show-branch check-ignore check-attr var cherry range-diff diff-tree diff-files
    diff-index verify-commit verify-tag fsck"""
)
_GIT_NETWORK = word_set("clone fetch pull ls-remote request-pull")
_GIT_VALUE_OPTIONS = word_set(
    "-C -c --git-dir --work-tree --namespace --config-env --super-prefix --exec-path"
)


def _rule_git(c: JudgedCommand) -> None:
    args = c.args
    i = 0
    while i < len(args) and is_option(args[i]):
        text = args[i].text
        if text in ("-c", "--config-env") or text.startswith(("--config-env=", "--exec-path=")):
            c.find(Risk.UNKNOWN, "git -c can make git run other programs")
        if text in _GIT_VALUE_OPTIONS:
            i += 1
        i += 1
    if i >= len(args):
        return
    if args[i].dynamic:
        c.find(Risk.UNKNOWN, "git runs a subcommand only known at run time")
        return
    sub = args[i].text
    rest = args[i + 1 :]
    letters = short_letters(rest)
    longs = long_options(rest)
    texts = [a.text for a in rest]
    if sub not in _GIT_KNOWN:
        c.find(
            Risk.UNKNOWN,
            f"git {sub} is not a git command llmos knows; an alias or add-on can run anything",
        )
        return
    _git_runs_commands(c, sub, rest, i + 1)
    found = _git_subcommand(sub, rest, letters, longs, texts)
    if found is not None:
        c.find(*found)


_GIT_KNOWN = word_set("""
    add am apply archive bisect blame branch bundle checkout cherry-pick cherry citool clean
    clone commit describe diff fetch format-patch gc grep init log maintenance merge mv notes
    pull push range-diff rebase reset restore revert rm shortlog show sparse-checkout stash
    status submodule switch tag worktree config fast-export fast-import filter-branch
    pack-refs prune reflog remote repack replace annotate count-objects fsck help
    merge-tree rerere show-branch verify-commit verify-tag whatchanged cat-file check-ignore
    check-attr checkout-index commit-tree hash-object ls-files ls-remote ls-tree merge-base
    read-tree rev-list rev-parse show-ref symbolic-ref update-index update-ref write-tree
    name-rev for-each-ref diff-tree diff-files diff-index var version request-pull
    difftool mergetool
    """)


def _git_runs_commands(c: JudgedCommand, sub: str, rest: Sequence[Word], offset: int) -> None:
    """git subcommands that run shell commands: foreach, rebase --exec, bisect run, tools."""
    texts = [a.text for a in rest]
    if sub in ("difftool", "mergetool"):
        c.find(Risk.UNKNOWN, f"git {sub} runs another program on the files")
    elif sub == "submodule" and "foreach" in texts:
        code = [w for w in rest[texts.index("foreach") + 1 :] if w.text != "--recursive"]
        if any(w.dynamic for w in code):
            c.find(Risk.UNKNOWN, "git submodule foreach runs a command built at run time")
        c.nested(" ".join(w.text for w in code), "git submodule foreach")
    elif sub == "rebase":
        for j, text in enumerate(texts):
            if text in ("-x", "--exec") and j + 1 < len(rest):
                c.nested(rest[j + 1].text, "git rebase --exec")
            elif text.startswith("--exec="):
                c.nested(text.split("=", 1)[1], "git rebase --exec")
    elif sub == "bisect" and texts[:1] == ["run"] and len(rest) > 1:
        c.judge_inner(offset + 1, offset + len(rest), "git bisect run")
    elif sub == "filter-branch" and any(t.endswith("-filter") for t in texts):
        c.find(Risk.UNKNOWN, "git filter-branch runs shell code on every commit")


_GIT_ACTIONS: dict[str, tuple[Risk, str] | None] = {
    **dict.fromkeys(
        "stash:list stash:show reflog: reflog:show worktree:list submodule:status "
        "submodule:summary remote: remote:get-url".split()
    ),
    **dict.fromkeys(
        "stash:drop stash:clear reflog:expire reflog:delete worktree:remove worktree:prune".split(),
        (Risk.DESTRUCTIVE, "git {sub} {action} deletes saved work"),
    ),
    **dict.fromkeys(
        "submodule:update submodule:add submodule:sync remote:show remote:prune "
        "remote:update".split(),
        (Risk.NETWORK, "git {sub} {action} talks to another machine"),
    ),
}
_GIT_FORCE = word_set("--force --force-with-lease --force-if-includes --mirror --delete --prune")
_GIT_BRANCH_CHANGES = word_set(
    "--delete --move --copy --set-upstream-to --unset-upstream --edit-description --force --track"
)
_GIT_BRANCH_VALUES = word_set(
    "--contains --no-contains --merged --no-merged --points-at --format --sort"
)
_GIT_CONFIG_WRITES = word_set(
    "--unset --unset-all --edit --add --replace-all --rename-section --remove-section"
)


def _git_subcommand(
    sub: str, rest: Sequence[Word], letters: str, longs: set[str], texts: list[str]
) -> tuple[Risk, str] | None:
    if sub in _GIT_READ:
        if sub == "grep" and ("O" in letters or "--open-files-in-pager" in longs):
            return Risk.UNKNOWN, "git grep -O runs another program"
        if longs & {"--ext-diff", "--textconv"} or "--upload-pack" in longs:
            return Risk.UNKNOWN, f"git {sub} {sorted(longs)[0]} runs another program"
        if "--output" in longs or "--lost-found" in longs:
            return Risk.WRITE, f"git {sub} writes to a file"
        return None
    if sub in _GIT_NETWORK:
        return Risk.NETWORK, f"git {sub} talks to another machine"
    action = texts[0] if texts and not texts[0].startswith("-") else ""
    if f"{sub}:{action}" in _GIT_ACTIONS:
        found = _GIT_ACTIONS[f"{sub}:{action}"]
        if found is None:
            return None
        return found[0], found[1].format(sub=sub, action=action)
    if sub == "push" and any(re.match(r"^(\w+://|[\w.-]+@[\w.-]+:)", t) for t in texts):
        return Risk.UNKNOWN, "exfiltration: git push sends the repository to a URL, not a remote"
    if sub == "push":
        if set(letters) & {"f", "d"} or longs & _GIT_FORCE or any(t[:1] == "+" for t in texts):
            return Risk.DESTRUCTIVE, "git push --force can overwrite commits on the remote"
        return Risk.NETWORK, "git push sends commits to another machine"
    if sub == "clean":
        if "n" in letters or "--dry-run" in longs:
            return None
        return Risk.DESTRUCTIVE, "git clean deletes untracked files"
    if sub == "reset" and longs & {"--hard", "--merge", "--keep"}:
        return Risk.DESTRUCTIVE, "git reset --hard throws away uncommitted changes"
    if sub in ("checkout", "restore", "switch"):
        forced = "f" in letters or longs & {"--force", "--discard-changes", "--worktree"}
        unstage_only = "S" in letters or "--staged" in longs
        if forced or "--" in texts or "." in texts or (sub == "restore" and not unstage_only):
            return Risk.DESTRUCTIVE, f"git {sub} can throw away uncommitted changes"
    if sub == "branch":
        if "D" in letters or ("d" in letters and "f" in letters):
            return Risk.DESTRUCTIVE, "git branch -D deletes a branch even if it is not merged"
        listing = "l" in letters or "--list" in longs
        changes = set(letters) & set("dmMcCuf") or longs & _GIT_BRANCH_CHANGES
        if not changes and (listing or not positionals(rest, "", _GIT_BRANCH_VALUES)):
            return None
    if sub == "tag" and ("l" in letters or "--list" in longs or not positionals(rest)):
        return None
    if sub == "config":
        keys = positionals(rest, "f", ("--file", "--blob", "--type", "--default"))
        if len(keys) <= 1 and not longs & _GIT_CONFIG_WRITES and "e" not in letters:
            return None
        if keys and keys[0].text in ("get", "list", "get-regexp", "get-urlmatch"):
            return None
        where = "~/.gitconfig" if longs & {"--global", "--system"} else ".git/config"
        return (
            Risk.DESTRUCTIVE,
            f"{PERSISTENCE}: git config changes {where}, which can make git run commands",
        )
    if sub in ("filter-branch", "filter-repo", "prune"):
        return Risk.DESTRUCTIVE, f"git {sub} rewrites or deletes history"
    if sub == "gc" and any(o.startswith("--prune") for o in longs):
        return Risk.DESTRUCTIVE, "git gc --prune deletes unreachable commits"
    if (sub == "rm" and ("f" in letters or "--force" in longs)) or (
        sub == "update-ref" and "d" in letters
    ):
        return Risk.DESTRUCTIVE, f"git {sub} deletes files or references for good"
    return Risk.WRITE, f"git {sub} changes the repository"


SUBCOMMAND_RULES: dict[str, Rule] = {
    "systemctl": _rule_systemctl,
    "service": _rule_service,
    "git": _rule_git,
    **dict.fromkeys(SUBCOMMAND_TABLES, _rule_table),
}
