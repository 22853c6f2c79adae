"""Allow-lists of options: what they let through, what they name, and what stays unknown."""

from __future__ import annotations

import pytest

from llmos_shell.calls import Risk
from llmos_shell.safety.shell import Removal, analyse, parser_available, plain_removal
from llmos_shell.safety.shell.options import check_options, opts
from llmos_shell.safety.shell.readonly import READ_ONLY_OPTIONS
from llmos_shell.safety.shell.words import Word


def words(text: str) -> list[Word]:
    return [Word(part) for part in text.split()]


def test_listed_options_pass_and_values_are_skipped() -> None:
    spec = opts("al", "w", "--all", "--width")
    assert (
        check_options("ls", spec, words("-la -w 80 --width 100 --all=x --help dir")).findings == ()
    )


def test_an_option_outside_the_list_is_reported_at_the_programs_risk() -> None:
    plain = check_options("ls", opts("l"), words("-lZ"))
    assert plain.findings == ((Risk.WRITE, "ls -Z is an option not known to be read-only"),)
    codey = check_options("sort", opts("r", unknown=Risk.UNKNOWN), words("--frob=sh"))
    assert codey.findings == ((Risk.UNKNOWN, "sort --frob is an option not known to be read-only"),)


def test_known_options_say_what_they_do_and_values_are_not_options() -> None:
    spec = opts("n", "A", known={"-K": (Risk.DESTRUCTIVE, "closes them")})
    assert check_options("ss", spec, words("-nK")).findings == ((Risk.DESTRUCTIVE, "closes them"),)
    assert check_options("ss", spec, words("-A -K")).findings == ()  # -K is -A's value here
    assert check_options("ss", spec, words("-- -K")).findings == ()  # after --, an operand


def test_numbers_and_whole_word_options() -> None:
    assert check_options("head", opts("n", numeric=True), words("-20 file")).findings == ()
    spec = opts("-short", "-class", words=True)
    assert check_options("lshw", spec, words("-short -class disk")).findings == ()
    assert check_options("lshw", spec, words("-sanitize")).findings


def test_an_option_that_runs_a_command_says_where_it_starts() -> None:
    checked = check_options("pidstat", opts("d", runs="-e"), words("-d -e rm -rf x"))
    assert checked.runs_at == 2


def test_every_table_entry_is_consistent() -> None:
    for prog, spec in READ_ONLY_OPTIONS.items():
        assert not set(spec.flags) & set(spec.values), prog  # a letter takes a value or not
        assert not spec.long_flags & spec.long_values, prog
        for option, (risk, reason) in spec.known.items():
            assert risk is not Risk.READ_ONLY and reason, (prog, option)


@pytest.mark.skipif(not parser_available(), reason="tree-sitter-bash not installed")
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("rm notes.txt", Removal(("notes.txt",), False, False)),
        ("rm -rf build dist", Removal(("build", "dist"), True, False)),
        ("rm -r -- *.log -x", Removal(("*.log", "-x"), True, True)),
        ("rm -rf *", Removal(("*",), True, True)),
        ("rm $f", None),
        ("rm x | cat", None),
        ("sudo rm x", None),
        ("rm --no-preserve-root x", None),
        ("rm x > log", None),
        ("rm {a,b}.txt", None),
        ("ls", None),
    ],
)
def test_a_plain_rm_is_recognised_and_nothing_else(command: str, expected: Removal | None) -> None:
    assert plain_removal(analyse(command)) == expected
