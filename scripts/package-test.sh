#!/usr/bin/env bash
# Herald's Linux installers, end to end, as a user gets them:
#   1. builds the .deb and the .rpm with the Tauri CLI from ui/node_modules (a release build,
#      into $CARGO_TARGET_DIR when set, so CI reuses it between runs) and prints their sizes;
#   2. checks what each package declares (name, version from Cargo.toml, dependencies) and
#      holds (the binary, the desktop entry, the icons, the server examples), and runs the
#      binary unpacked from the .rpm;
#   3. installs the .deb with apt-get, then runs the installed Herald on a server's terms:
#      `herald --version`; a Secret Service started exactly as
#      packaging/systemd/herald-keyring.service starts it (gnome-keyring-daemon unlocked from a
#      password file) in a private D-Bus session; `herald init`, one queued invitation (which
#      puts the first signing key into the keyring), `herald serve` answering GET /healthz and
#      stopping cleanly on SIGTERM; then a "reboot" (a new session on the same files) that must
#      find the key again, and a wrong keyring password that must get Herald's "locked" message;
#   4. checks the shipped examples: the systemd units (systemd-analyze verify), the Caddyfile
#      (caddy validate) and the nginx site (nginx -t), as installed under
#      /usr/share/doc/herald/examples;
#   5. purges the package and checks that nothing it installed is left.
# AppImage is not built here: its bundler downloads helper tools at build time (the release
# workflow builds it).
#
# Usage: scripts/package-test.sh                build, then test
#        scripts/package-test.sh --no-build     test the bundles the last build left
#        scripts/package-test.sh --build-only   only step 1 (scripts/test.sh runs it in the
#                                               background while other stages wait)
# Needs root or sudo (apt-get, dpkg) on Debian or Ubuntu. scripts/setup.sh --tests installs
# the tools (rpm, desktop-file-utils, gnome-keyring, dbus, systemd, nginx, caddy, curl).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
P="package-test"
SELF="$HERALD_ROOT/scripts/package-test.sh"
PKG=herald

# ------------------------------------------------------------------------------------------
# Inside a private D-Bus session (this script runs itself there, see in_server_session): start
# the Secret Service the way packaging/systemd/herald-keyring.service does, wait until it owns
# org.freedesktop.secrets, run one step, stop the keyring.
# ------------------------------------------------------------------------------------------
session_body() {
    local step=$1
    # The bus is up: take back the caller's stderr (fd 3; the bus's own warnings go to a log).
    exec 2>&3 3>&-
    gnome-keyring-daemon --foreground --replace --components=secrets --unlock \
        --control-directory="$XDG_RUNTIME_DIR/herald-keyring" \
        <"$HERALD_PT_KEYRING_PASSWORD_FILE" >>"$HERALD_PT_WORK/keyring.log" 2>&1 &
    local keyring_pid=$!
    local i=0
    until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            cat "$HERALD_PT_WORK/keyring.log" >&2
            die "$P" "gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s"
        fi
        sleep 0.1
    done
    # shellcheck disable=SC2064 # the PID is known now
    trap "kill $keyring_pid 2>/dev/null || true" EXIT
    # Not inside `if` or `||`: a failing command in the step must stop it (set -e).
    "step_$step"
    exit 0
}

# ------------------------------------------------------------------------------------------
# Steps run inside a session. Herald uses its defaults there, as under the systemd unit: the
# data folder $XDG_DATA_HOME/herald beside the keyring's $XDG_DATA_HOME/keyrings.
# ------------------------------------------------------------------------------------------

wait_port() { # PORT LOG
    local i=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 200 ]; then
            cat "$2" >&2
            die "$P" "herald serve did not listen on 127.0.0.1:$1 within 10 s"
        fi
        sleep 0.05
    done
}

# Starts `herald serve`, checks GET /healthz, stops it with SIGTERM and checks it stopped
# cleanly (exit 0, within 10 s, port closed).
serve_and_stop() { # LABEL
    local label=$1 port log pid body i rc
    port=$(free_port)
    log="$HERALD_PT_WORK/serve-$label.log"
    herald serve --owner-bind 127.0.0.1:0 --bind "127.0.0.1:$port" --trusted-proxy 127.0.0.1 >"$log" 2>&1 &
    pid=$!
    wait_port "$port" "$log"
    body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz") || {
        cat "$log" >&2
        die "$P" "GET /healthz failed"
    }
    case $body in
    *'"ok"'*) ;;
    *) die "$P" "GET /healthz answered $body, not ok" ;;
    esac
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le 100 ] || die "$P" "herald serve did not stop within 10 s of SIGTERM"
        sleep 0.1
    done
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || {
        cat "$log" >&2
        die "$P" "herald serve exited with $rc after SIGTERM (expected 0)"
    }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "$P" "127.0.0.1:$port still answers after herald serve stopped"
    fi
    grep -q '^Herald .* is serving the confirmation site' "$log" ||
        die "$P" "herald serve did not print its start line: $(cat "$log")"
    say "$P" "  $label: serve on 127.0.0.1:$port answered /healthz with $body and stopped cleanly on SIGTERM"
}

step_first_start() {
    herald init --team "Package Test" --owner-name "Ada Lovelace" --from invites@example.com \
        --public-url "https://invite.example.com" >/dev/null
    # The first invitation makes the first signing key, in the keyring (no SMTP is set up, so
    # it stays queued).
    herald invite create grace@example.com >/dev/null
    herald key status --json >"$HERALD_PT_WORK/keys-before.json"
    grep '"version":1' "$HERALD_PT_WORK/keys-before.json" | grep -q '"presence":"present"' ||
        die "$P" "no key v1 in the keyring after the first invitation: $(cat "$HERALD_PT_WORK/keys-before.json")"
    [ -f "$XDG_DATA_HOME/herald/herald.db" ] ||
        die "$P" "the default data folder is not \$XDG_DATA_HOME/herald"
    serve_and_stop first-start
}

step_after_reboot() {
    herald key status --json >"$HERALD_PT_WORK/keys-after.json"
    grep '"version":1' "$HERALD_PT_WORK/keys-after.json" | grep -q '"presence":"present"' ||
        die "$P" "the keyring lost key v1 across a restart: $(cat "$HERALD_PT_WORK/keys-after.json")"
    cmp -s "$HERALD_PT_WORK/keys-before.json" "$HERALD_PT_WORK/keys-after.json" ||
        die "$P" "the keys changed across a restart: $(cat "$HERALD_PT_WORK/keys-after.json")"
    serve_and_stop after-restart
}

step_wrong_password() {
    local out rc=0
    # With the keyring locked, serve must refuse to start (timeout: in case it does not).
    out=$(timeout 20 herald serve --owner-bind 127.0.0.1:0 --bind 127.0.0.1:0 2>&1) || rc=$?
    [ "$rc" -eq 1 ] || die "$P" "herald serve with a locked keyring exited with $rc (expected 1): $out"
    case $out in
    "herald: the OS keyring is locked"*) ;;
    *) die "$P" "herald serve with a locked keyring said: $out" ;;
    esac
    say "$P" "  locked keyring: $out"
}

if [ "${1:-}" = --session-step ]; then
    session_body "$2"
fi

# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------

build=1
only_build=0
case "${1:-}" in
--no-build) build=0 ;;
--build-only) only_build=1 ;;
"") ;;
*)
    echo "usage: $0 [--no-build | --build-only]" >&2
    exit 2
    ;;
esac

cd "$HERALD_ROOT"
ensure_cargo_on_path

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "$P" "installing a package needs root: run as root or install sudo"
    SUDO=(sudo)
fi
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
for tool in apt-get dpkg dpkg-deb rpm rpm2archive desktop-file-validate curl dbus-run-session \
    dbus-send gnome-keyring-daemon systemd-analyze caddy nginx openssl; do
    command -v "$tool" >/dev/null 2>&1 || die "$P" "'$tool' not found: run scripts/setup.sh --tests"
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "$P" "cannot read the version from Cargo.toml"
bundle_dir="$(cargo_target_dir)/release/bundle"
# A marker that this script installed the package: if a run is killed before it purges, the
# next run knows the installed herald is its own leftover and not someone's real install.
state_dir="${XDG_STATE_HOME:-${HOME:-/root}/.local/state}/herald-package-test"
marker="$state_dir/installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/herald-package.XXXXXX")
installed=0
cleanup() {
    local rc=$?
    if [ "$installed" = 1 ]; then
        say "$P" "removing the package after a failure"
        "${APT[@]}" purge -y "$PKG" >/dev/null 2>&1 || true
        rm -f "$marker"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^.i'; then
    if [ -e "$marker" ]; then
        say "$P" "purging the herald package an interrupted run left installed"
        "${APT[@]}" purge -y "$PKG" >/dev/null
        rm -f "$marker"
    else
        die "$P" "a herald package is installed on this machine, and this test installs and purges its own: remove it first (apt-get purge herald) or run the test elsewhere"
    fi
fi

# 1. Build ------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
    [ -x ui/node_modules/.bin/tauri ] || die "$P" "the Tauri CLI is not in ui/node_modules: run scripts/setup.sh"
    rm -f "$bundle_dir"/deb/*.deb "$bundle_dir"/rpm/*.rpm
    start=$(date +%s)
    # The UI is built here, and only when its sources changed, not by Tauri's
    # beforeBuildCommand (see build_ui_if_stale).
    build_ui_if_stale "$P"
    say "$P" "building the .deb and .rpm (release build into $(cargo_target_dir); 5 to 10 minutes when the Rust code changed)"
    ui/node_modules/.bin/tauri build --ci --bundles deb,rpm \
        --config '{"build":{"beforeBuildCommand":null}}' -- --locked
    say "$P" "built in $(($(date +%s) - start)) s"
fi
if [ "$only_build" = 1 ]; then
    ls -l "$bundle_dir"/deb/*.deb "$bundle_dir"/rpm/*.rpm
    exit 0
fi
debs=("$bundle_dir"/deb/*_"$version"_*.deb)
rpms=("$bundle_dir"/rpm/*"$version"-*.rpm)
[ -f "${debs[0]}" ] || die "$P" "no .deb for version $version in $bundle_dir/deb (build first)"
[ -f "${rpms[0]}" ] || die "$P" "no .rpm for version $version in $bundle_dir/rpm (build first)"
if [ "${#debs[@]}" -ne 1 ] || [ "${#rpms[@]}" -ne 1 ]; then
    die "$P" "more than one package for version $version: ${debs[*]} ${rpms[*]}"
fi
deb=${debs[0]}
rpm_file=${rpms[0]}

# Sizes, for the report.
human() { numfmt --to=iec-i --suffix=B --round=nearest --format='%.1f' "$1"; }
deb_size=$(stat -c %s "$deb")
rpm_size=$(stat -c %s "$rpm_file")
installed_kib=$(dpkg-deb -f "$deb" Installed-Size)
installed_kib=${installed_kib:-0}
say "$P" "installer sizes:"
printf '  %-40s %10s\n' "$(basename "$deb")" "$(human "$deb_size")" \
    "$(basename "$rpm_file")" "$(human "$rpm_size")" \
    "(installed, per the .deb)" "$(human $((installed_kib * 1024)))"

# 2. What the packages declare and hold --------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = "$PKG" ] || die "$P" "the .deb is named '$(field Package)', not $PKG"
[ "$(field Version)" = "$version" ] || die "$P" "the .deb has version $(field Version), Cargo.toml $version"
depends=$(field Depends)
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libdbus-1-3; do
    case ", $depends," in
    *", $dep,"* | *", $dep "*) ;;
    *) die "$P" "the .deb does not depend on $dep (Depends: $depends)" ;;
    esac
done
case $(field Recommends) in
*gnome-keyring*) ;;
*) die "$P" "the .deb does not recommend a Secret Service (Recommends: $(field Recommends))" ;;
esac
# Every file the package ships, as absolute paths (for the purge check).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's#^\./##' -e 's#/$##' -e 's#^#/#' |
    grep -vx / | sort >"$work/deb-files"
desktop=/usr/share/applications/Herald.desktop
for f in /usr/bin/herald "$desktop" /usr/share/icons/hicolor/32x32/apps/herald.png \
    /usr/share/icons/hicolor/64x64/apps/herald.png /usr/share/icons/hicolor/128x128/apps/herald.png \
    /usr/share/icons/hicolor/512x512/apps/herald.png \
    /usr/share/doc/herald/examples/systemd/herald.service \
    /usr/share/doc/herald/examples/systemd/herald-keyring.service \
    /usr/share/doc/herald/examples/proxy/Caddyfile \
    /usr/share/doc/herald/examples/proxy/nginx-herald.conf; do
    grep -qx "$f" "$work/deb-files" || die "$P" "the .deb does not contain $f"
done
say "$P" "PASS .deb: $PKG $version, Depends: $depends; Recommends: $(field Recommends); $(grep -c . "$work/deb-files") paths"

# The .rpm: its header, its files, and the binary in it runs.
[ "$(rpm -qp --qf '%{NAME} %{VERSION}' "$rpm_file" 2>/dev/null)" = "$PKG $version" ] ||
    die "$P" "the .rpm says '$(rpm -qp --qf '%{NAME} %{VERSION}' "$rpm_file" 2>&1)', not '$PKG $version'"
rpm -K --nosignature "$rpm_file" >/dev/null || die "$P" "the .rpm's digests do not match its contents"
requires=$(rpm -qp --requires "$rpm_file" 2>/dev/null | grep -v '^rpmlib(' | tr '\n' ' ')
for dep in webkit2gtk4.1 gtk3 dbus-libs; do
    case " $requires" in
    *" $dep "*) ;;
    *) die "$P" "the .rpm does not require $dep (Requires: $requires)" ;;
    esac
done
rpm -qlp "$rpm_file" 2>/dev/null | sort >"$work/rpm-files"
for f in /usr/bin/herald "$desktop" /usr/share/icons/hicolor/128x128/apps/herald.png \
    /usr/share/doc/herald/examples/systemd/herald.service; do
    grep -qx "$f" "$work/rpm-files" || die "$P" "the .rpm does not contain $f"
done
# rpm2archive reads the payload through rpm itself (rpm2cpio 4.18 exits 1 on these packages
# although its output is complete).
mkdir "$work/rpm-root"
rpm2archive -n - <"$rpm_file" | tar -x -C "$work/rpm-root"
[ "$("$work/rpm-root/usr/bin/herald" --version)" = "herald $version" ] ||
    die "$P" "the binary in the .rpm does not say 'herald $version'"
say "$P" "PASS .rpm: $PKG $version, Requires: $requires; digests ok; its binary runs"

# 3. Install and run ---------------------------------------------------------------------------
mkdir -p "$state_dir"
: >"$marker"
installed=1
say "$P" "apt-get install $(basename "$deb")"
start=$(date +%s)
"${APT[@]}" install -y "$deb" >"$work/apt-install.log" 2>&1 || {
    cat "$work/apt-install.log" >&2
    die "$P" "apt-get install failed"
}
[ "$(command -v herald)" = /usr/bin/herald ] || die "$P" "herald is not on PATH as /usr/bin/herald"
[ "$(herald --version)" = "herald $version" ] ||
    die "$P" "the installed herald says '$(herald --version)', not 'herald $version'"
desktop-file-validate "$desktop" || die "$P" "$desktop is not a valid desktop entry"
grep -qx 'Exec=herald' "$desktop" || die "$P" "$desktop does not start herald: $(cat "$desktop")"
say "$P" "PASS installed in $(($(date +%s) - start)) s: $(herald --version) at /usr/bin/herald; desktop entry valid"

# The server's files: the keyring and Herald's data side by side under one XDG_DATA_HOME, kept
# across sessions like a server's home folder; each session gets a fresh runtime folder.
export HERALD_PT_WORK="$work"
unset HERALD_DATA_DIR HERALD_KEYRING_SERVICE
mkdir -m 700 "$work/home-data"
printf '%s' "package-test-$RANDOM$RANDOM" >"$work/keyring-password"
printf '%s' "not-the-password" >"$work/wrong-password"
chmod 600 "$work/keyring-password" "$work/wrong-password"
session_no=0
in_server_session() { # STEP PASSWORD_FILE
    session_no=$((session_no + 1))
    local run="$work/run-$session_no" rc=0
    mkdir -m 700 "$run"
    # No display: a locked keyring must not pop up a password prompt on a developer's screen.
    env -u DISPLAY -u WAYLAND_DISPLAY XDG_DATA_HOME="$work/home-data" XDG_RUNTIME_DIR="$run" \
        HERALD_PT_KEYRING_PASSWORD_FILE="$2" \
        dbus-run-session -- bash "$SELF" --session-step "$1" 3>&2 2>>"$work/dbus.log" || rc=$?
    return "$rc"
}
in_server_session first_start "$work/keyring-password" ||
    die "$P" "the installed herald did not run under a server's keyring"
in_server_session after_reboot "$work/keyring-password" ||
    die "$P" "the installed herald did not find its key after a restart"
in_server_session wrong_password "$work/wrong-password" ||
    die "$P" "a wrong keyring password did not get Herald's 'locked' message"
say "$P" "PASS serve: init, first key in the keyring, /healthz, SIGTERM, key kept across a restart"

# 4. The shipped examples -----------------------------------------------------------------------
examples=/usr/share/doc/herald/examples
runtime="$work/verify-runtime"
mkdir -m 700 "$runtime"
XDG_RUNTIME_DIR="$runtime" systemd-analyze --user verify \
    "$examples/systemd/herald-keyring.service" "$examples/systemd/herald.service" ||
    die "$P" "systemd-analyze verify found problems in the example units"
grep -q '^ExecStart=/usr/bin/herald serve ' "$examples/systemd/herald.service" ||
    die "$P" "herald.service does not run /usr/bin/herald serve"

# Caddy keeps its state under XDG_DATA_HOME and XDG_CONFIG_HOME: keep them in the work folder.
XDG_DATA_HOME="$work/caddy-data" XDG_CONFIG_HOME="$work/caddy-config" \
    caddy validate --adapter caddyfile --config "$examples/proxy/Caddyfile" >"$work/caddy.log" 2>&1 || {
    cat "$work/caddy.log" >&2
    die "$P" "caddy validate rejected the example Caddyfile"
}

# nginx -t needs the certificate files to exist: a throwaway self-signed pair, and the site in
# a minimal nginx.conf with every path inside the work folder.
ngx="$work/nginx"
mkdir -p "$ngx/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=invite.example.com \
    -keyout "$ngx/privkey.pem" -out "$ngx/fullchain.pem" >/dev/null 2>&1
sed -e "s#/etc/letsencrypt/live/invite.example.com/#$ngx/#" \
    "$examples/proxy/nginx-herald.conf" >"$ngx/site.conf"
cat >"$ngx/nginx.conf" <<EOF
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log;
events {}
http {
    access_log $ngx/logs/access.log;
    client_body_temp_path $ngx/body;
    proxy_temp_path $ngx/proxy;
    fastcgi_temp_path $ngx/fastcgi;
    uwsgi_temp_path $ngx/uwsgi;
    scgi_temp_path $ngx/scgi;
    include $ngx/site.conf;
}
EOF
nginx -t -q -p "$ngx" -e "$ngx/logs/error.log" -c "$ngx/nginx.conf" || die "$P" "nginx -t rejected the example site"
say "$P" "PASS examples: systemd units verified, Caddyfile validated, nginx site passes nginx -t"

# 5. Purge, and nothing left --------------------------------------------------------------------
"${APT[@]}" purge -y "$PKG" >"$work/apt-purge.log" 2>&1 || {
    cat "$work/apt-purge.log" >&2
    die "$P" "apt-get purge failed"
}
installed=0
rm -f "$marker"
if dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^.[^n]'; then
    die "$P" "dpkg still knows $PKG after the purge: $(dpkg-query -W -f='${db:Status-Abbrev}' "$PKG")"
fi
left=()
while IFS= read -r f; do
    # Folders the system owns (/usr, /usr/share/icons/hicolor/...) stay; anything of Herald's goes.
    case $f in
    */herald* | */Herald*) [ ! -e "$f" ] || left+=("$f") ;;
    *) [ -d "$f" ] || [ ! -e "$f" ] || left+=("$f") ;;
    esac
done <"$work/deb-files"
[ "${#left[@]}" -eq 0 ] || die "$P" "left behind after apt-get purge: ${left[*]}"
for f in /usr/bin/herald "$desktop" /usr/share/doc/herald; do
    [ ! -e "$f" ] || die "$P" "$f is still there after apt-get purge"
done
icons=$(find /usr/share/icons -name 'herald.png' 2>/dev/null | head -n 3)
[ -z "$icons" ] || die "$P" "icons left after apt-get purge: $icons"
say "$P" "PASS purge: no file of the package is left (binary, desktop entry, icons, examples)"
say "$P" "ok"
