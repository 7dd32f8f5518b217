#!/bin/bash
# The UI container's entry point.
#
#   corral-ui serve         render /tmp/nginx/nginx.conf from the environment, run nginx
#   corral-ui render        only render and check the configuration (prints it)
#   corral-ui healthcheck   GET /healthz on this container (used by HEALTHCHECK)
#
# Environment (all optional):
#   AGENT_URL             where /api/ goes, http(s)://HOST[:PORT]   (http://agent-server:8000)
#   AGENT_RESOLVER        auto | off | IP of a DNS server            (auto)
#                         auto: re-resolve AGENT_URL's host every 10 s when Docker's
#                         embedded DNS (127.0.0.11) is the nameserver, so a recreated
#                         agent container is found again; otherwise resolve once at
#                         start (Kubernetes Service IPs are stable, search domains work).
#   LISTEN_PORT           port nginx listens on, 1024-65535          (8080)
#   PROXY_TIMEOUT         read/send timeout towards the agent, e.g. 300s (300s)
#   CLIENT_MAX_BODY_SIZE  largest request body, e.g. 256k            (256k)
set -euo pipefail

export AGENT_URL="${AGENT_URL:-http://agent-server:8000}"
export LISTEN_PORT="${LISTEN_PORT:-8080}"
export PROXY_TIMEOUT="${PROXY_TIMEOUT:-300s}"
export CLIENT_MAX_BODY_SIZE="${CLIENT_MAX_BODY_SIZE:-256k}"
AGENT_RESOLVER="${AGENT_RESOLVER:-auto}"

conf_dir=/tmp/nginx
template=/etc/corral-ui/nginx.conf.template

die() {
  echo "corral-ui: $*" >&2
  exit 2
}

check_settings() {
  AGENT_URL="${AGENT_URL%/}"
  [[ "$AGENT_URL" =~ ^https?://([A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\])(:[0-9]{1,5})?$ ]] \
    || die "AGENT_URL must look like http://HOST:PORT with no path (got '$AGENT_URL')"
  [[ "$LISTEN_PORT" =~ ^[0-9]+$ ]] && ((LISTEN_PORT >= 1024 && LISTEN_PORT <= 65535)) \
    || die "LISTEN_PORT must be a number from 1024 to 65535; the container is not root (got '$LISTEN_PORT')"
  [[ "$PROXY_TIMEOUT" =~ ^[1-9][0-9]*[smh]?$ ]] \
    || die "PROXY_TIMEOUT must be a duration like 300s or 5m (got '$PROXY_TIMEOUT')"
  [[ "$CLIENT_MAX_BODY_SIZE" =~ ^[1-9][0-9]*[kKmM]?$ ]] \
    || die "CLIENT_MAX_BODY_SIZE must be a size like 256k or 1m (got '$CLIENT_MAX_BODY_SIZE')"
  export AGENT_URL
}

agent_host() {
  local rest="${AGENT_URL#*://}"
  rest="${rest%%/*}"
  if [[ "$rest" == \[* ]]; then echo "${rest%%]*}]"; else echo "${rest%%:*}"; fi
}

first_nameserver() {
  awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null || true
}

choose_resolver() {
  local host ns=""
  host="$(agent_host)"
  case "$AGENT_RESOLVER" in
    off) ;;
    auto)
      if [[ ! "$host" =~ ^[0-9.]+$ && "$host" != \[* ]] && [[ "$(first_nameserver)" == 127.0.0.11 ]]; then
        ns=127.0.0.11
      fi ;;
    *)
      [[ "$AGENT_RESOLVER" =~ ^[0-9.]+$|^[0-9A-Fa-f:]+$ ]] \
        || die "AGENT_RESOLVER must be auto, off or the IP of a DNS server (got '$AGENT_RESOLVER')"
      ns="$AGENT_RESOLVER" ;;
  esac
  [[ "$ns" == *:* ]] && ns="[$ns]"
  if [[ -n "$ns" ]]; then
    # A variable in proxy_pass makes nginx resolve at request time, through `resolver`.
    export RESOLVER_DIRECTIVE="    resolver $ns valid=10s ipv6=off;"
    export AGENT_PROXY_PASS="set \$agent_upstream $AGENT_URL; proxy_pass \$agent_upstream;"
  else
    export RESOLVER_DIRECTIVE="    # AGENT_URL is resolved once, at start."
    export AGENT_PROXY_PASS="proxy_pass $AGENT_URL;"
    [[ "${WAIT_FOR_AGENT:-1}" == 1 ]] && wait_for_name "$host"
  fi
  return 0
}

wait_for_name() {
  # Static resolution: nginx refuses to start if the name does not resolve yet
  # (e.g. the agent starts at the same time); give it up to 30 s.
  local host="$1"
  [[ "$host" =~ ^[0-9.]+$ || "$host" == \[* ]] && return 0
  for _ in $(seq 1 30); do
    getent hosts "$host" >/dev/null && return 0
    sleep 1
  done
  echo "corral-ui: warning: $host does not resolve; nginx will fail to start (check AGENT_URL)" >&2
}

render() {
  check_settings
  choose_resolver
  mkdir -p "$conf_dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
  local vars='${AGENT_URL} ${AGENT_PROXY_PASS} ${RESOLVER_DIRECTIVE} ${LISTEN_PORT} ${PROXY_TIMEOUT} ${CLIENT_MAX_BODY_SIZE}'
  envsubst "$vars" < "$template" > "$conf_dir/nginx.conf"
  nginx -e stderr -t -q -c "$conf_dir/nginx.conf"
}

healthcheck() {
  local port="${LISTEN_PORT}" status
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  read -r -t 3 _ status _ <&3 || exit 1
  [[ "$status" == 200 ]]
}

case "${1:-serve}" in
  serve)
    render
    echo "corral-ui: serving on :$LISTEN_PORT, /api/ -> $AGENT_URL" >&2
    exec nginx -e stderr -c "$conf_dir/nginx.conf" -g 'daemon off;'
    ;;
  render)
    # `nginx -t` resolves a static upstream too; don't wait for it here.
    WAIT_FOR_AGENT=0 render
    cat "$conf_dir/nginx.conf"
    ;;
  healthcheck)
    healthcheck
    ;;
  *)
    exec "$@"
    ;;
esac
