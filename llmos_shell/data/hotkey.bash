# llmos in bash: Ctrl-G turns the words on the command line into a shell command, in place,
# for you to read, edit and run with Enter. The binding never runs it.
__llmos_hotkey() {
    local words=$READLINE_LINE
    [[ -n ${words//[[:space:]]/} ]] || return 0
    local errors
    errors=$(mktemp "${TMPDIR:-/tmp}/llmos-hotkey.XXXXXX") || return 0
    printf '\r\033[K%s' "(llmos is writing a command for: $words)" >&2
    local found
    found=$("${__llmos_command[@]}" suggest --plain -- "$words" </dev/null 2>"$errors")
    local status=$?
    printf '\r\033[K' >&2
    if [[ $status -eq 0 && -n $found ]]; then
        READLINE_LINE=$found
        READLINE_POINT=${#READLINE_LINE}
    else
        tail -n 1 "$errors" >&2
    fi
    rm -f -- "$errors"
}
bind -x '"\C-g": __llmos_hotkey'
