#!/usr/bin/env bash
# Runs deploy/setup-server.sh for real, twice, on a throwaway Debian 12 server: a root file
# system from debootstrap (scripts/debian-base.sh) with what a cloud image adds (systemd),
# entered with chroot inside a network namespace of its own, so the firewall the script
# enables lives in that namespace and never touches this machine's. Apt reaches Debian's
# mirror through a small HTTP proxy on the namespace's link (the namespace has no other way
# out). Checks what the server gets — Docker with rotated logs and enabled at boot, the
# firewall (active, its rules loaded in the kernel), unattended upgrades, the deploy user with
# its key, /srv/gad and /etc/gad/secrets — and that the second run changes nothing.
#
#   scripts/check-setup-server.sh      (as root; scripts/check-ops.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-test] %s\n' "$*"; }
die() { printf '[setup-test] FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (chroot, network namespaces)"

BASE_TAR=$(scripts/debian-base.sh) || die "no Debian base"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gad-setup.XXXXXX")
R=$WORK/root
NS=gadsetup$$
VH=gsh$$ VN=gsn$$
NET=10.$((RANDOM % 200 + 20)).$((RANDOM % 250)).
PROXY_PID=""
cleanup() {
  set +e
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  for m in dev/pts dev proc sys; do umount -l "$R/$m" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  ip link del "$VH" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$R"
tar -C "$R" -xf "$BASE_TAR"
cp deploy/setup-server.sh "$R/root/setup-server.sh"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || :
# As in an image build: packages are configured, their daemons not started.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"

# The namespace and its one link to this machine.
ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "${NET}1/30" dev "$VH"
ip link set "$VH" up
ip netns exec "$NS" ip addr add "${NET}2/30" dev "$VN"
ip netns exec "$NS" ip link set "$VN" up
ip netns exec "$NS" ip link set lo up

# A forward proxy for Debian's mirror only, listening on that link.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "${NET}1" "$PORT" >"$WORK/proxy.log" 2>&1 <<'PY' &
import http.server, shutil, socketserver, sys, urllib.request
ALLOWED = ("http://deb.debian.org/",)
class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith(ALLOWED):
            self.send_error(403, "not Debian's mirror")
            return
        try:
            with urllib.request.urlopen(self.path, timeout=60) as r:
                self.send_response(r.status)
                for k in ("Content-Type", "Content-Length", "Last-Modified", "ETag"):
                    if r.headers.get(k):
                        self.send_header(k, r.headers[k])
                self.end_headers()
                shutil.copyfileobj(r, self.wfile)
        except urllib.error.HTTPError as e:
            self.send_error(e.code)
        except Exception as e:
            self.send_error(502, str(e)[:100])
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
Server((sys.argv[1], int(sys.argv[2])), Proxy).serve_forever()
PY
PROXY_PID=$!
echo "Acquire::http::Proxy \"http://${NET}1:$PORT/\";" >"$R/etc/apt/apt.conf.d/99proxy"

mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t sysfs sys "$R/sys" 2>/dev/null || mount --rbind /sys "$R/sys"
inside() { ip netns exec "$NS" chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/${NET}1/$PORT") 2>/dev/null && break; sleep 0.1; done
log "the server image: systemd, as a cloud image has it"
inside apt-get update -qq >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log"; tail -n 5 "$WORK/proxy.log"; die "apt-get update through the proxy"; }
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv \
  >>"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log"; die "installing systemd"; }

KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE1AAAAIGadTestKeyOnlyForTheSetupServerCheck000000 ops@gad"
HOST_RULES_BEFORE=$(iptables -S 2>/dev/null | sort | sha256sum)

log "first run"
inside /root/setup-server.sh --ssh-key "$KEY" >"$WORK/run1.log" 2>&1 \
  || { tail -n 40 "$WORK/run1.log"; die "setup-server.sh failed on a fresh server"; }

fail=0
expect() { # expect DESCRIPTION COMMAND...: runs COMMAND; reports it when it fails
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then log "ok: $what"; else log "NOT OK: $what"; fail=1; fi
}
mode_owner() { inside stat -c '%a %U:%G' "$1"; }
expect "docker installed (dockerd, docker)" test -x "$R/usr/sbin/dockerd" -a -x "$R/usr/bin/docker"
expect "docker enabled at boot" test -L "$R/etc/systemd/system/multi-user.target.wants/docker.service"
expect "docker's logs rotated (10 MB x 5)" grep -q '"max-size": "10m"' "$R/etc/docker/daemon.json"
expect "firewall active" bash -c "ip netns exec $NS chroot $R ufw status | grep -q 'Status: active'"
for rule in '22/tcp *LIMIT' '80/tcp *ALLOW' '443/tcp *ALLOW' '443/udp *ALLOW'; do
  expect "firewall: $rule" bash -c "ip netns exec $NS chroot $R ufw status | grep -Eq '^$rule'"
done
expect "firewall: incoming dropped by default (the kernel's policy)" bash -c "ip netns exec $NS iptables -S INPUT | grep -q -- '-P INPUT DROP'"
expect "firewall rules loaded in the namespace's kernel" bash -c "ip netns exec $NS iptables -S 2>/dev/null | grep -q 'ufw-user-input.*--dport 443'"
expect "this machine's own firewall untouched" test "$(iptables -S 2>/dev/null | sort | sha256sum)" = "$HOST_RULES_BEFORE"
expect "unattended upgrades daily" grep -q 'Unattended-Upgrade "1"' "$R/etc/apt/apt.conf.d/20auto-upgrades"
expect "unattended upgrades reboot at 04:00" grep -q '04:00' "$R/etc/apt/apt.conf.d/52gad-unattended-upgrades"
expect "unattended-upgrades enabled at boot" test -L "$R/etc/systemd/system/multi-user.target.wants/unattended-upgrades.service"
expect "the deploy user, in the docker group" bash -c "ip netns exec $NS chroot $R id -nG deploy | grep -qw docker"
expect "/srv/gad: deploy's, 0750" test "$(mode_owner /srv/gad)" = "750 deploy:deploy"
expect "/etc/gad/secrets: root:deploy, 0750" test "$(mode_owner /etc/gad/secrets)" = "750 root:deploy"
expect "the SSH key authorised, 0600" test "$(mode_owner /home/deploy/.ssh/authorized_keys)" = "600 deploy:deploy"
expect "the SSH key there once" test "$(grep -cxF "$KEY" "$R/home/deploy/.ssh/authorized_keys")" = 1

snapshot() {
  (cd "$R" && sha256sum etc/passwd etc/group etc/shadow etc/docker/daemon.json etc/ufw/user.rules \
    etc/ufw/user6.rules etc/ufw/ufw.conf etc/apt/apt.conf.d/20auto-upgrades \
    etc/apt/apt.conf.d/52gad-unattended-upgrades home/deploy/.ssh/authorized_keys
  stat -c '%n %a %U:%G' srv/gad etc/gad/secrets home/deploy/.ssh) 2>&1
  ip netns exec "$NS" iptables -S 2>/dev/null | sort
}
snapshot >"$WORK/before"
log "second run"
inside /root/setup-server.sh --ssh-key "$KEY" >"$WORK/run2.log" 2>&1 \
  || { tail -n 40 "$WORK/run2.log"; die "setup-server.sh failed on its second run"; }
snapshot >"$WORK/after"
expect "the second run changes nothing" diff -u "$WORK/before" "$WORK/after"
expect "the second run installs and creates nothing" bash -c "! grep -Eq 'installing|creating user' '$WORK/run2.log'"
[ "$fail" -eq 0 ] || { diff -u "$WORK/before" "$WORK/after" | head -n 20; sed -n '1,40p' "$WORK/run1.log"; die "see above"; }
log "passed"
