# llmos in zsh: Ctrl-G turns the words on the command line into a shell command, in place,
# for you to read, edit and run with Enter. The widget never runs it.
__llmos_hotkey() {
    local words=$BUFFER
    [[ -n ${words//[[:space:]]/} ]] || return 0
    local errors
    errors=$(mktemp "${TMPDIR:-/tmp}/llmos-hotkey.XXXXXX") || return 0
    zle -M "(llmos is writing a command for: $words)"
    zle -R
    local found
    found=$("${__llmos_command[@]}" suggest --plain -- "$words" </dev/null 2>"$errors")
    local exit_status=$?
    if [[ $exit_status -eq 0 && -n $found ]]; then
        BUFFER=$found
        CURSOR=${#BUFFER}
        zle -M ""
    else
        zle -M "$(tail -n 1 "$errors")"
    fi
    rm -f -- "$errors"
}
zle -N __llmos_hotkey
bindkey '^G' __llmos_hotkey
