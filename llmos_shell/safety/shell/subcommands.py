"""Rules for programs judged by their subcommand: `apt install`, `docker rm`, `git push`.

Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmos_shell.calls import Risk
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


def _table(
    read_only: str,
    network: str = "",
    destructive: str = "",
    default: Risk = Risk.WRITE,
    reason: str = "{prog} {sub} changes things",
    none: Risk = Risk.READ_ONLY,
) -> Subcommands:
    return Subcommands(
        frozenset(read_only.split()),
        frozenset(network.split()),
        frozenset(destructive.split()),
        default,
        reason,
        none,
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
            network="install download wheel search index",
            reason="{prog} {sub} changes installed packages",
        ),
    ),
    **dict.fromkeys(
        ("npm", "pnpm", "bun"),
        _table(
            "ls list la ll help version root prefix bin explain why",
            network="install i in ci add update up upgrade publish exec x create init audit "
            "outdated view info show search dlx login",
            reason="{prog} {sub} runs project scripts or changes packages",
        ),
    ),
    "yarn": _table(
        "list info why help",
        network="install add upgrade up dlx create",
        reason="yarn {sub} runs project scripts or changes packages",
        none=Risk.NETWORK,
    ),
    **dict.fromkeys(
        ("docker", "podman"),
        _table(
            "ps images logs inspect version info stats top port history events diff",
            network="pull push login search",
            destructive="rm rmi kill prune",
            reason="{prog} {sub} changes containers or images",
        ),
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
            c.find(table.none, f"{prog} installs packages from the network")
        return
    sub_word = positional[0]
    sub = sub_word.text
    if sub_word.dynamic:
        c.find(Risk.WRITE, f"{prog} runs a subcommand only known at run time")
    elif sub in table.read_only:
        return
    elif sub in table.network:
        c.find(Risk.NETWORK, _NETWORK_REASON.format(prog=prog, sub=sub))
    elif sub in table.destructive or (
        table.destructive and any(p.text in ("rm", "prune", "remove") for p in positional[1:])
    ):
        c.find(Risk.DESTRUCTIVE, f"{prog} {sub} deletes containers, images or data")
    else:
        c.find(table.default, table.reason.format(prog=prog, sub=sub))


def _rule_table(c: JudgedCommand) -> None:
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
            c.find(Risk.WRITE, "git -c can make git run other programs")
        if text in _GIT_VALUE_OPTIONS:
            i += 1
        i += 1
    if i >= len(args):
        return
    if args[i].dynamic:
        c.find(Risk.WRITE, "git runs a subcommand only known at run time")
        return
    sub = args[i].text
    rest = args[i + 1 :]
    letters = short_letters(rest)
    longs = long_options(rest)
    texts = [a.text for a in rest]
    found = _git_subcommand(sub, rest, letters, longs, texts)
    if found is not None:
        c.find(*found)


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
            return Risk.WRITE, "git grep -O runs another program"
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
        if keys and keys[0].text in ("get", "list"):
            return None
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
