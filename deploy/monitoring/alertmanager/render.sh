#!/bin/sh
# Alertmanager's configuration for GAD, written from the environment, then Alertmanager itself.
# The image's entrypoint in docker-compose.yml; scripts/check-ops.sh runs it to test delivery.
#
#   render.sh [ALERTMANAGER ARGS…]   write $ALERTMANAGER_CONFIG, then exec $ALERTMANAGER_BIN
#   render.sh --render-only          write $ALERTMANAGER_CONFIG only
#
# Routing: critical alerts go to Telegram (a supervisors' group, through the Bot API at
# TELEGRAM_API_URL, as the GAD bot) and by e-mail, at once and hourly; warnings by e-mail,
# grouped, every 12 h. A critically full disk silences the low-disk warning of the same
# filesystem; an API down entirely silences the per-replica warnings. A receiver whose
# settings are empty is left out (development: alerts stay in Alertmanager's own page).
#
# Settings (docs/OPERATIONS.md, "Monitoring"):
#   GAD_ALERT_TELEGRAM_CHAT_ID   the group's chat id (an integer, negative for groups)
#   TELEGRAM_API_URL             the Bot API (default https://api.telegram.org)
#   the bot token                the file GAD_ALERT_TELEGRAM_BOT_TOKEN_FILE (default the
#                                compose secret /run/secrets/telegram_bot_token), else
#                                TELEGRAM_BOT_TOKEN
#   GAD_ALERT_EMAIL_TO           comma-separated addresses
#   GAD_ALERT_EMAIL_FROM         the sender address
#   GAD_ALERT_SMTP_SMARTHOST     host:port of the mail relay
#   GAD_ALERT_SMTP_USERNAME      optional; its password from GAD_ALERT_SMTP_PASSWORD_FILE
#                                (default /run/secrets/alert_smtp_password)
#   GAD_ALERT_SMTP_REQUIRE_TLS   true (default) or false (a relay on a private network)
# Secrets are written only into the rendered file, never printed.
set -eu

here=$(dirname "$0")
out=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}
templates=${GAD_ALERT_TEMPLATES:-$here}
chat=${GAD_ALERT_TELEGRAM_CHAT_ID:-}
api=${TELEGRAM_API_URL:-https://api.telegram.org}
token_file=${GAD_ALERT_TELEGRAM_BOT_TOKEN_FILE:-/run/secrets/telegram_bot_token}
to=${GAD_ALERT_EMAIL_TO:-}
from=${GAD_ALERT_EMAIL_FROM:-}
smarthost=${GAD_ALERT_SMTP_SMARTHOST:-}
username=${GAD_ALERT_SMTP_USERNAME:-}
password_file=${GAD_ALERT_SMTP_PASSWORD_FILE:-/run/secrets/alert_smtp_password}
require_tls=${GAD_ALERT_SMTP_REQUIRE_TLS:-true}

fail() { echo "render.sh: $*" >&2; exit 1; }
# A YAML single-quoted scalar.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

token=""
if [ -r "$token_file" ]; then
  token=$(tr -d '\r\n' <"$token_file")
fi
[ -n "$token" ] || token=${TELEGRAM_BOT_TOKEN:-}

telegram=false
if [ -n "$chat" ]; then
  case $chat in -*) digits=${chat#-} ;; *) digits=$chat ;; esac
  case $digits in '' | *[!0-9]*) fail "GAD_ALERT_TELEGRAM_CHAT_ID must be an integer" ;; esac
  case $token in '' | *[!0-9A-Za-z:_-]*) fail "the Telegram bot token is missing or malformed" ;; esac
  case $api in http://* | https://*) ;; *) fail "TELEGRAM_API_URL must be an http(s) URL" ;; esac
  telegram=true
fi

email=false
if [ -n "$to$smarthost" ]; then
  if [ -z "$to" ] || [ -z "$from" ] || [ -z "$smarthost" ]; then
    fail "e-mail needs GAD_ALERT_EMAIL_TO, GAD_ALERT_EMAIL_FROM and GAD_ALERT_SMTP_SMARTHOST"
  fi
  case $smarthost in *:[0-9]*) ;; *) fail "GAD_ALERT_SMTP_SMARTHOST must be host:port" ;; esac
  case $require_tls in true | false) ;; *) fail "GAD_ALERT_SMTP_REQUIRE_TLS must be true or false" ;; esac
  email=true
fi

telegram_config() {
  cat <<YAML
    telegram_configs:
      - api_url: $(quote "$api")
        bot_token: $(quote "$token")
        chat_id: $chat
        parse_mode: HTML
        message: '{{ template "gad.telegram" . }}'
        send_resolved: true
YAML
}

email_config() {
  cat <<YAML
    email_configs:
      - to: $(quote "$to")
        from: $(quote "$from")
        smarthost: $(quote "$smarthost")
        require_tls: $require_tls
        headers:
          Subject: '{{ template "gad.email.subject" . }}'
        text: '{{ template "gad.email.text" . }}'
        html: ''
        send_resolved: true
YAML
  if [ -n "$username" ]; then
    [ -r "$password_file" ] || fail "GAD_ALERT_SMTP_USERNAME is set but $password_file cannot be read"
    printf '        auth_username: %s\n        auth_password: %s\n' \
      "$(quote "$username")" "$(quote "$(tr -d '\r\n' <"$password_file")")"
  fi
}

umask 077
{
  cat <<YAML
# Written by deploy/monitoring/alertmanager/render.sh; edit that script, not this file.
global:
  resolve_timeout: 5m

templates:
  - $(quote "$templates/*.tmpl")

route:
  receiver: warnings
  group_by: [alertname, instance]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  routes:
    - matchers: ['severity="critical"']
      receiver: critical
      group_wait: 10s
      group_interval: 1m
      repeat_interval: 1h
    - matchers: ['severity="warning"']
      receiver: warnings

inhibit_rules:
  - source_matchers: ['alertname="GadDiskSpaceCritical"']
    target_matchers: ['alertname="GadDiskSpaceLow"']
    equal: [instance, mountpoint]
  - source_matchers: ['alertname="GadApiDown"']
    target_matchers: ['alertname="GadApiReplicaDown"']

receivers:
  - name: critical
YAML
  if $telegram; then telegram_config; fi
  if $email; then email_config; fi
  echo "  - name: warnings"
  if $email; then email_config; fi
} >"$out"

echo "render.sh: wrote $out (telegram: $telegram, e-mail: $email)"
if [ "${1:-}" = "--render-only" ]; then
  exit 0
fi
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$out" "$@"
