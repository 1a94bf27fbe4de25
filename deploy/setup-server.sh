#!/usr/bin/env bash
# Prepares a fresh Debian 12 or Ubuntu 22.04/24.04 server for GAD (docs/OPERATIONS.md, "Install"):
# Docker Engine with the Compose plugin (from the distribution), a firewall that lets in only
# SSH, HTTP and HTTPS (HTTP/3 too), unattended security upgrades, Docker log rotation, and a
# `deploy` user that runs the stack from /srv/gad with its secrets in /etc/gad/secrets.
# Safe to run again: every step checks before it changes anything.
#
#   sudo deploy/setup-server.sh [--deploy-user NAME] [--ssh-key "ssh-ed25519 AAAA… you@host"]
set -euo pipefail

DEPLOY_USER=deploy
SSH_KEY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deploy-user) DEPLOY_USER=$2; shift ;;
    --ssh-key) SSH_KEY=$2; shift ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
# shellcheck source=/dev/null
. /etc/os-release
case "${ID:-}" in
  debian | ubuntu) ;;
  *) echo "unsupported system: ${PRETTY_NAME:-unknown} (Debian or Ubuntu only)" >&2; exit 1 ;;
esac

export DEBIAN_FRONTEND=noninteractive
# Services are enabled for boot always, started only where systemd runs (not while an image
# is built in a chroot or a container).
systemd_running() { [ -d /run/systemd/system ]; }
enable_now() {
  systemctl enable "$1" >/dev/null 2>&1
  if systemd_running; then systemctl start "$1"; fi
}
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Docker from the distribution; the Compose v2 plugin is `docker-compose-plugin` on Ubuntu
# and Debian 13, `docker-compose` (v1 CLI) on Debian 12, so prefer the plugin when offered.
apt_install ca-certificates curl ufw unattended-upgrades apt-listchanges docker.io
if apt-cache show docker-compose-v2 >/dev/null 2>&1; then
  apt_install docker-compose-v2
elif apt-cache show docker-compose-plugin >/dev/null 2>&1; then
  apt_install docker-compose-plugin
fi
docker compose version >/dev/null 2>&1 \
  || log "WARNING: no 'docker compose' plugin from the distribution; install Docker's official packages (docs/OPERATIONS.md)"

# Container logs are rotated by the compose files too; this covers `docker run` as well.
if [ ! -f /etc/docker/daemon.json ]; then
  log "docker: rotating json-file logs (10 MB x 5)"
  mkdir -p /etc/docker
  cat >/etc/docker/daemon.json <<'JSON'
{
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "5" },
  "live-restore": true
}
JSON
  if systemd_running; then systemctl restart docker; fi
fi
enable_now docker

# Firewall: SSH (rate limited), HTTP and HTTPS (+ HTTP/3 over UDP). Nothing else: the
# database, Redis, Prometheus and Grafana are reached through SSH tunnels only.
# Docker publishes ports through its own iptables chains, past ufw: the compose files publish
# only Caddy's 80/443 (and loopback-only ports for Prometheus and Grafana).
log "firewall: allow 22/tcp (limited), 80/tcp, 443/tcp, 443/udp"
ufw default deny incoming >/dev/null
ufw default allow outgoing >/dev/null
ufw limit 22/tcp >/dev/null
ufw allow 80/tcp >/dev/null
ufw allow 443/tcp >/dev/null
ufw allow 443/udp >/dev/null
ufw --force enable >/dev/null

# Security updates every day, unattended; reboot at 04:00 when one needs it.
log "unattended security upgrades"
cat >/etc/apt/apt.conf.d/20auto-upgrades <<'APT'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
APT
cat >/etc/apt/apt.conf.d/52gad-unattended-upgrades <<'APT'
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-Time "04:00";
Unattended-Upgrade::Remove-Unused-Dependencies "true";
APT
enable_now unattended-upgrades

# The deploy user: runs docker compose, owns /srv/gad. The secrets directory is closed to other
# users; its files are mounted into the containers, whose users (uid 10001 for gad) must read
# them, so the files themselves are 0444 (docs/OPERATIONS.md).
if ! id "$DEPLOY_USER" >/dev/null 2>&1; then
  log "creating user $DEPLOY_USER"
  useradd --create-home --shell /bin/bash "$DEPLOY_USER"
fi
usermod -aG docker "$DEPLOY_USER"
install -d -o "$DEPLOY_USER" -g "$DEPLOY_USER" -m 0750 /srv/gad
install -d -o root -g "$DEPLOY_USER" -m 0750 /etc/gad/secrets
if [ -n "$SSH_KEY" ]; then
  home=$(getent passwd "$DEPLOY_USER" | cut -d: -f6)
  install -d -o "$DEPLOY_USER" -g "$DEPLOY_USER" -m 0700 "$home/.ssh"
  touch "$home/.ssh/authorized_keys"
  grep -qxF "$SSH_KEY" "$home/.ssh/authorized_keys" || echo "$SSH_KEY" >>"$home/.ssh/authorized_keys"
  chown "$DEPLOY_USER:$DEPLOY_USER" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
fi

log "done: log in as $DEPLOY_USER, put the repository's compose files in /srv/gad, the secrets in"
log "/etc/gad/secrets, and follow docs/OPERATIONS.md (Install)"
