# Sourced by demo.sh and check.sh: installs the Debian packages cfutures builds
# with when some are missing (as root, or through sudo), so that on a fresh
# Debian 12 machine one command does all the set-up.
cf_debian_packages=(build-essential cmake libgtest-dev libgmock-dev libcereal-dev libdw-dev libcurl4-openssl-dev pkg-config openmpi-bin libopenmpi-dev doxygen)

cf_install_missing_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0  # not Debian: the user installs by hand
    local missing=() p
    for p in "${cf_debian_packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=sudo
        else
            echo "cfutures needs these Debian packages: ${missing[*]} (apt-get install them as root)" >&2
            return 1
        fi
    fi
    echo "cfutures: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
