# llmos in fish: Ctrl-G turns the words on the command line into a shell command, in place,
# for you to read, edit and run with Enter. The binding never runs it.
function __llmos_hotkey
    set -l words (commandline)
    if test -z (string trim -- "$words")
        return 0
    end
    set -l errors (mktemp)
    printf '\r\033[K%s' "(llmos is writing a command for: $words)" >&2
    set -l found ($__llmos_command suggest --plain -- "$words" </dev/null 2>$errors)
    set -l exit_status $status
    printf '\r\033[K' >&2
    if test $exit_status -eq 0; and test -n "$found"
        commandline --replace -- (string join \n -- $found)
        commandline --cursor (string length -- (commandline))
    else
        tail -n 1 $errors >&2
    end
    rm -f -- $errors
    commandline --function repaint
end
bind \cg __llmos_hotkey
