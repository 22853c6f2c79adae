# Sourced by .ci/run and .ci/lock: install the CPU build of torch, never the CUDA one.
#
# From PyPI, torch for Linux x86_64 is the CUDA build (several GB of nvidia-* wheels). The CPU
# build comes from PyTorch's own CPU index where that is reachable, or from a wheel this machine
# provides (pip's find-links or a local index, as on the project's machines). Where neither is
# there, this stops with one sentence rather than download the CUDA build.

TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

# Whether PyTorch's CPU index answers within a few seconds (a closed network fails at once).
cpu_index_reachable() {
    python3 - "$TORCH_CPU_INDEX/torch/" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).read(1)
PY
}

# install_cpu_torch PYTHON [PIP ARGS...]: the CPU build of torch $TORCH_VERSION into PYTHON's env.
install_cpu_torch() {
    local python=$1
    shift
    if cpu_index_reachable; then
        echo "torch: the CPU build from $TORCH_CPU_INDEX"
        "$python" -m pip install --quiet --index-url "$TORCH_CPU_INDEX" \
            --extra-index-url https://pypi.org/simple "$@" "torch==$TORCH_VERSION"
        return
    fi
    # No CPU index: take torch only if what pip would install is a CPU build (a +cpu wheel).
    local would
    would=$("$python" -m pip install --quiet --dry-run --ignore-installed --no-deps \
        --report - "$@" "torch==$TORCH_VERSION" 2>/dev/null \
        | "$python" -c 'import json, sys; print(" ".join(i["metadata"]["version"] for i in json.load(sys.stdin)["install"]))' \
        || true)
    case "$would" in
        *+cpu*)
            echo "torch: the CPU build provided on this machine ($would)"
            "$python" -m pip install --quiet "$@" "torch==$TORCH_VERSION"
            ;;
        *)
            echo "error: no CPU build of torch $TORCH_VERSION here: $TORCH_CPU_INDEX is not" \
                "reachable and pip offers '${would:-nothing}'; reach that index, or put a" \
                "torch-$TORCH_VERSION+cpu wheel where pip finds it (PIP_FIND_LINKS)" >&2
            return 1
            ;;
    esac
}
