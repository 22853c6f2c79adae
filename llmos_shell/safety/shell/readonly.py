"""Read-only programs and the options known to keep them read-only: the one table.

Every program here is read-only with the options listed, and only with them (see `options`).
Programs with a rule of their own (`find`, `sed`, `tar`...) are judged by it as well.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.options import Options
from llmos_shell.safety.shell.options import any_option as _any
from llmos_shell.safety.shell.options import opts as _o
from llmos_shell.safety.shell.words import word_set

U, W, D, P = Risk.UNKNOWN, Risk.WRITE, Risk.DESTRUCTIVE, Risk.PRIVILEGED

_GREP = _o(
    "EFGPiywxzsvVbHhnTZUcLloqraRI",
    "efmABCdD",
    "--extended-regexp --fixed-strings --basic-regexp --perl-regexp --ignore-case "
    "--no-ignore-case --word-regexp --line-regexp --null-data --no-messages --invert-match "
    "--byte-offset --line-number --no-line-number --with-filename --no-filename "
    "--only-matching --quiet --silent --text --recursive --dereference-recursive --count "
    "--color --colour --files-with-matches --files-without-match --null --initial-tab "
    "--line-buffered --no-group-separator --binary",
    "--regexp --file --max-count --after-context --before-context --context --include "
    "--exclude --exclude-from --exclude-dir --binary-files --devices --directories --label "
    "--group-separator",
    numeric=True,
)
_LESS = _any("bhjkKoOpPtTxyz#", {"-o": (W, "less -o copies its input into a file")})
_DECOMPRESS_TO_STDOUT = _o(
    "cdfhlLnNqrtvV",
    "S",
    "--stdout --to-stdout --decompress --force --quiet --verbose --list --test --name --no-name",
    "--suffix",
)
_NVIDIA_CHANGES = (P, "nvidia-smi {opt} changes GPU settings")

READ_ONLY_OPTIONS: dict[str, Options] = {
    "fdfind": _o("HIusiFgaLlp0q1", "dtecEjSo", unknown=U, runs="-x --exec -X --exec-batch"),
    "ls": _o(
        "aAbBcCdDfFgGhHiklLmnNopqQrRsStuUvxXZ1",
        "IwT",
        "--all --almost-all --author --escape --ignore-backups --directory --dired --classify "
        "--file-type --full-time --group-directories-first --no-group --human-readable --si "
        "--dereference-command-line --dereference-command-line-symlink-to-dir --inode "
        "--hide-control-chars --show-control-chars --kibibytes --dereference --literal "
        "--numeric-uid-gid --quote-name --recursive --reverse --size --context --zero --color "
        "--hyperlink --indicator-style --time",
        "--block-size --format --quoting-style --sort --time-style --width --tabsize --ignore "
        "--hide",
    ),
    **dict.fromkeys(("dir", "vdir"), _o("aAbBcCdfFghiklLmnNopqQrRsStuUvxX1", "IwT")),
    "cat": _o(
        "AbeEnstTuv",
        "",
        "--show-all --number-nonblank --show-ends --number --squeeze-blank --show-tabs "
        "--show-nonprinting",
    ),
    "tac": _o("br", "s", "--before --regex", "--separator"),
    "head": _o(
        "qvz", "cn", "--quiet --silent --verbose --zero-terminated", "--bytes --lines", numeric=True
    ),
    "tail": _o(
        "fFqvz",
        "cnsp",
        "--follow --retry --quiet --silent --verbose --zero-terminated",
        "--bytes --lines --pid --sleep-interval --max-unchanged-stats",
        numeric=True,
    ),
    "wc": _o(
        "clmwL", "", "--bytes --chars --lines --words --max-line-length --total", "--files0-from"
    ),
    **dict.fromkeys(
        ("grep", "egrep", "fgrep", "zgrep", "zegrep", "zfgrep", "bzgrep", "xzgrep"), _GREP
    ),
    "rg": _o(
        "acFHhiIlLnNopqsSuUvVwxz0",
        "ABCeEfgjmMrtT",
        "--text --count --count-matches --column --no-column --crlf --files --files-with-matches "
        "--files-without-match --fixed-strings --follow --glob-case-insensitive --heading "
        "--no-heading --hidden --no-hidden --ignore-case --case-sensitive --smart-case "
        "--invert-match --json --line-buffered --block-buffered --line-number --no-line-number "
        "--line-regexp --multiline --multiline-dotall --no-filename --with-filename --no-ignore "
        "--no-ignore-vcs --no-ignore-dot --no-ignore-global --no-ignore-parent --no-messages "
        "--null --null-data --one-file-system --only-matching --passthru --pretty --quiet "
        "--search-zip --sort-files --stats --trim --type-list --unrestricted --vimgrep "
        "--word-regexp --byte-offset --no-config --debug --trace --binary --no-binary --unicode "
        "--no-unicode --pcre2 --no-pcre2 --auto-hybrid-regex --include-zero --max-columns-preview "
        "--no-require-git --files-with-matches --invert-match --follow",
        "--after-context --before-context --context --regexp --file --glob --iglob --type "
        "--type-not --type-add --type-clear --max-count --max-depth --maxdepth --max-columns "
        "--max-filesize --replace --sort --sortr --threads --color --colors --encoding --engine "
        "--field-context-separator --field-match-separator --context-separator --path-separator "
        "--dfa-size-limit --regex-size-limit --ignore-file --hyperlink-format",
        unknown=U,
        known={
            "--pre": (U, "rg --pre runs another program on each file"),
            "--pre-glob": (U, "rg --pre-glob runs another program on each file"),
            "--hostname-bin": (U, "rg --hostname-bin runs another program"),
        },
    ),
    "ag": _o(
        "acDfhHilLnQsStuUvwz0",
        "ABCGgmpW",
        "--ackmate --all-text --all-types --case-sensitive --color --nocolor --column --count "
        "--filename --nofilename --files-with-matches --files-without-matches --follow --group "
        "--nogroup --hidden --ignore-case --invert-match --literal --line-numbers "
        "--list-file-types --only-matching --print0 --search-binary --silent --smart-case "
        "--stats --unrestricted --vimgrep --word-regexp --skip-vcs-ignores --one-device "
        "--multiline --nomultiline --null --numbers --nonumbers --noheading --heading --nobreak",
        "--after --before --context --file-search-regex --ignore --ignore-dir --max-count "
        "--path-to-ignore --depth --workers --width",
        unknown=U,
    ),
    "ack": _o(
        "cfghHiIklLnoqrRsvwx1",
        "ABCmt",
        "--ignore-case --smart-case --nosmart-case --invert-match --word-regexp --literal "
        "--count --files-with-matches --files-without-matches --with-filename --no-filename "
        "--column --nocolumn --color --nocolor --nopager --noenv --sort-files --follow "
        "--nofollow --recurse --norecurse --heading --noheading --break --nobreak --group "
        "--nogroup --help-types",
        "--type --after-context --before-context --context --max-count --ignore-dir "
        "--noignore-dir --ignore-file",
        unknown=U,
    ),
    **dict.fromkeys(("zcat", "bzcat", "xzcat", "lzcat", "zstdcat"), _DECOMPRESS_TO_STDOUT),
    **dict.fromkeys(("zless", "zmore", "bzless", "xzless", "less", "more"), _LESS),
    "zdiff": _any(),
    "du": _o(
        "0abcDhHklLmPsSx",
        "BdtX",
        "--null --all --apparent-size --bytes --total --dereference-args --human-readable "
        "--inodes --dereference --count-links --no-dereference --separate-dirs --si --summarize "
        "--one-file-system --time",
        "--block-size --max-depth --threshold --time-style --exclude --exclude-from --files0-from",
    ),
    "df": _o(
        "ahHiklPTv",
        "Btx",
        "--all --human-readable --si --inodes --local --no-sync --sync --portability "
        "--print-type --total --output",
        "--block-size --type --exclude-type",
    ),
    **dict.fromkeys(
        word_set("""
            free ps pgrep pidof top uptime whoami id groups users who w last lastb uname arch
            nproc cal ncal pwd echo basename dirname realpath readlink namei which whereis type
            cut tr paste join comm column fold fmt nl expand unexpand rev seq yes sleep true
            false : test [ expr factor numfmt diff diff3 cmp md5sum sha1sum sha224sum
            sha256sum sha384sum sha512sum b2sum cksum sum lsblk lscpu lsusb lspci lsmod lsof
            lsattr getfacl lslocks lsipc lsns findmnt blkid netstat vmstat iostat mpstat
            strings od hexdump jq locale getconf printenv tty apropos whatis help cd pushd popd
            dirs wait jobs umask ulimit shift getopts return exit break continue set shopt
            lsb_release hostid getent pstree pwdx pmap dircolors look bc xxd exa eza lsd duf
            dust procs base32 basenc mountpoint xdg-user-dir
            """),
        _any(),
    ),
    "base64": _any("w", {"-o": (W, "base64 -o writes to a file")}),
    "sdiff": _any(
        "oWw",
        {
            "-o": (W, "sdiff -o writes the merged file"),
            "--output": (W, "sdiff -o writes the merged file"),
        },
    ),
    "info": _any(
        "onf",
        {
            "-o": (W, "info -o writes to a file"),
            "--output": (W, "info -o writes to a file"),
            "--dribble": (W, "info --dribble writes keystrokes to a file"),
        },
    ),
    "iconv": _any(
        "oft",
        {"-o": (W, "iconv -o writes to a file"), "--output": (W, "iconv -o writes to a file")},
    ),
    "shuf": _any(
        "inoe", {"-o": (W, "shuf -o writes to a file"), "--output": (W, "shuf -o writes to a file")}
    ),
    **dict.fromkeys(
        ("bat", "batcat"),
        _any("lLmpr", {"--pager": (U, "bat --pager runs another program")}),
    ),
    "stat": _o("LftZ", "c", "--dereference --file-system --terse", "--format --printf --cached"),
    "file": _o(
        "bcdEhiklLnNprsSvz0",
        "efFmPM",
        "--brief --mime --mime-type --mime-encoding --keep-going --dereference "
        "--no-dereference --raw --special-files --uncompress --uncompress-noreport "
        "--preserve-date --no-buffer --print0 --extension --apple --no-pad",
        "--separator --exclude --exclude-quiet --files-from --magic-file --parameter",
        known={
            "-C": (W, "file -C writes a compiled magic file"),
            "--compile": (W, "file -C writes a compiled magic file"),
        },
    ),
    "lastlog": _o(
        "h",
        "bftu",
        "",
        "--before --time --user",
        known={
            "-C": (P, "lastlog -C clears login records"),
            "--clear": (P, "lastlog -C clears login records"),
            "-S": (P, "lastlog -S rewrites login records"),
            "--set": (P, "lastlog -S rewrites login records"),
        },
    ),
    "ss": _o(
        "hVHnraloeimpsEZzbTO46056txuwdSMjX",
        "NAfF",
        "--no-header --numeric --resolve --all --listening --options --extended --memory "
        "--processes --threads --info --tos --cgroup --summary --events --context --contexts "
        "--bpf --ipv4 --ipv6 --packet --tcp --udp --dccp --raw --unix --sctp --vsock --xdp "
        "--mptcp --inet-sockets --tipc --oneline --bpf-maps",
        "--family --query --socket --filter --net",
        known={
            "-K": (D, "ss -K closes the network connections it lists"),
            "--kill": (D, "ss -K closes the network connections it lists"),
            "-D": (W, "ss -D writes raw socket data to a file"),
            "--diag": (W, "ss -D writes raw socket data to a file"),
        },
    ),
    "pidstat": _o(
        "dHhIlRrstuUvw",
        "CGpT",
        "--human --dec",
        "",
        runs="-e",
    ),
    "lshw": _o(
        "-short -businfo -html -xml -json -sanitize -numeric -quiet -notime -X -version -help",
        "-class -C -c -disable -enable",
        words=True,
        known={"-dump": (W, "lshw -dump writes a database file")},
    ),
    "sensors": _o(
        "AujfvV",
        "c",
        "--no-adapter --bus-list",
        "--config-file",
        known={
            "-s": (P, "sensors -s writes limits to the sensor chips"),
            "--set": (P, "sensors -s writes limits to the sensor chips"),
        },
    ),
    "nvidia-smi": _o(
        "-L --list-gpus -q --query -x --xml-format -u --unit -h --help --version -B "
        "--list-excluded-gpus --debug -lms --loop-ms -m --matrix -s --status",
        "-i --id -d --display -l --loop --format --query-gpu --query-compute-apps "
        "--query-accounted-apps --query-retired-pages --query-supported-clocks "
        "--query-remapped-rows -f --filename",
        words=True,
        unknown=P,
        known={
            **{
                opt: _NVIDIA_CHANGES
                for opt in word_set(
                    "-r --gpu-reset -pm --persistence-mode -e --ecc-config -p --reset-ecc-errors "
                    "-c --compute-mode -pl --power-limit -ac --applications-clocks -rac "
                    "--reset-applications-clocks -lgc --lock-gpu-clocks -rgc --reset-gpu-clocks "
                    "-lmc --lock-memory-clocks -rmc --reset-memory-clocks -mig --multi-instance-gpu "
                    "-am --accounting-mode -caa --clear-accounted-apps -dm --driver-model "
                    "-acp --applications-clocks-permission -cc --cuda-clocks"
                )
            },
        },
    ),
    "sort": _o(
        "bdfgiMhnRrVcCsumz",
        "kStTo",
        "--ignore-leading-blanks --dictionary-order --ignore-case --general-numeric-sort "
        "--ignore-nonprinting --month-sort --human-numeric-sort --numeric-sort --random-sort "
        "--reverse --version-sort --check --merge --stable --unique --zero-terminated --debug",
        "--sort --random-source --key --field-separator --buffer-size --temporary-directory "
        "--parallel --output --batch-size --files0-from",
        unknown=U,
        known={"--compress-program": (U, "sort --compress-program runs another program")},
    ),
    "uniq": _o(
        "cdDiuz",
        "fsw",
        "--count --repeated --all-repeated --ignore-case --unique --zero-terminated --group",
        "--skip-fields --skip-chars --check-chars",
        numeric=True,
    ),
    "tree": _o(
        "adlfxuigsDhFqNQprtcUvSnCJXA",
        "LPIHTo",
        "--noreport --dirsfirst --filesfirst --du --si --prune --matchdirs --ignore-case "
        "--gitignore --info --fromfile --metafirst --inodes --device --nolinks",
        "--charset --filelimit --timefmt --sort --hintro --houtro --output",
        known={"-R": (W, "tree -R writes an HTML file into every folder")},
    ),
    "man": _any("CLMmSseEpr"),
    **dict.fromkeys(
        ("date", "gdate"),
        _o(
            "Ru",
            "dfrIs",
            "--utc --universal --debug --iso-8601 --rfc-email",
            "--date --file --rfc-3339 --reference --set",
        ),
    ),
    "compgen": _any(
        "AGWXPSo",
        {"-C": (U, "compgen -C runs a command"), "-F": (U, "compgen -F runs a shell function")},
    ),
    "printf": _any("v"),
    "yq": _any(
        "",
        {
            "-i": (W, "yq -i edits the file in place"),
            "--inplace": (W, "yq -i edits the file in place"),
            "--in-place": (W, "yq -i edits the file in place"),
        },
    ),
    "arp": _o(
        "anevD",
        "iHA",
        "--all --numeric --verbose",
        "--device --hw-type",
        known={
            opt: (P, "arp changes the address table")
            for opt in ("-d", "-s", "-f", "--delete", "--set", "--file")
        },
    ),
    "dpkg-query": _o(
        "lLsSpW",
        "f",
        "--list --listfiles --status --search --print-avail --show --no-pager",
        "--showformat --admindir --root",
    ),
    **dict.fromkeys(
        ("sed", "gsed"),
        _o(
            "nrEsuzib",
            "efl",
            "--posix --debug --follow-symlinks --sandbox --null-data --separate --unbuffered "
            "--regexp-extended --quiet --silent --in-place --binary",
            "--expression --file --line-length",
        ),
    ),
    **dict.fromkeys(
        word_set("""
            upower acpi modinfo getenforce sestatus lsinitramfs fc-list lpstat atq nm readelf
            objdump size pdfinfo mediainfo numastat locate plocate mlocate dmidecode hwinfo tput
            lsns lsipc ldconfig.real
            """),
        _any(),
    ),
    "inxi": _any(
        "",
        {
            "-U": (W, "inxi -U updates inxi itself from the network"),
            "--update": (W, "inxi -U updates inxi itself from the network"),
        },
    ),
    "gpg": _o(
        "kK",
        "",
        "--list-keys --list-public-keys --list-secret-keys --fingerprint --list-sigs "
        "--check-sigs --with-colons --keyid-format --list-packets --verify --with-fingerprint",
        "--keyring --homedir",
    ),
    "ssh-keygen": _o(
        "lv",
        "fEF",
        "",
        "",
        known={
            "-y": (W, "ssh-keygen -y reads a private key"),
            "-D": (U, "ssh-keygen -D loads a PKCS#11 library and runs its code"),
            "-w": (U, "ssh-keygen -w loads a security key library and runs its code"),
        },
    ),
    "ssh-add": _o(
        "lL",
        "",
        "",
        "",
        known={
            "-D": (D, "ssh-add -D forgets every loaded key"),
            "-d": (W, "ssh-add -d forgets a loaded key"),
        },
    ),
    "xrandr": _o(
        "q",
        "",
        "--query --listmonitors --listactivemonitors --verbose --current --prop --listproviders",
    ),
    "stty": _o("ag", "F", "--all --save", "--file"),
    "smartctl": _o(
        "aixHcAj",
        "dlTf",
        "--all --info --xall --health --capabilities --attributes --json --scan --scan-open",
        "--device --log --format --tolerance",
        unknown=P,
    ),
    "hdparm": _o("Ii", "", "", "", unknown=D),
    "blockdev": _o(
        "v",
        "",
        "--getsize64 --getsize --getss --getbsz --getro --getra --report --getpbsz --getiomin "
        "--getioopt --getalignoff --getmaxsect --getsz --getdiscardzeroes --getfra",
        unknown=P,
    ),
    **dict.fromkeys(
        ("iptables", "ip6tables"),
        _o(
            "LSnvx",
            "t",
            "--list --list-rules --numeric --verbose --exact --line-numbers",
            "--table",
            unknown=P,
        ),
    ),
    "fd": _o(
        "HIusiFgaLlp0q1",
        "dtecEjSo",
        "--hidden --no-ignore --no-ignore-vcs --unrestricted --case-sensitive --ignore-case "
        "--glob --regex --fixed-strings --absolute-path --list-details --follow --full-path "
        "--print0 --quiet --prune --show-errors --one-file-system --no-ignore-parent",
        "--max-depth --min-depth --exact-depth --type --extension --exclude --color --threads "
        "--size --changed-within --changed-before --owner --base-directory --path-separator "
        "--max-results --ignore-file --search-path",
        unknown=U,
        runs="-x --exec -X --exec-batch",
    ),
}
