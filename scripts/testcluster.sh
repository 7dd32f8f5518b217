#!/usr/bin/env bash
# The project's own single-node Kubernetes (tools/testcluster): up | down | status | load IMAGE...
#
# Everything lives under $TESTCLUSTER_DIR (default build/testcluster): the binary, PKI,
# configs, etcd/containerd/kubelet state, logs and pid files. It listens on loopback and on
# a veth pair it creates (node IP 10.213.0.1); `down` (and every `up`, first) removes its
# processes, pod processes, mounts, links and iptables chains, also after a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${TESTCLUSTER_DIR:-$ROOT/build/testcluster}
BIN=$DIR/bin/testcluster
SYSIMG=$DIR/bin/systemimage
NODE=testcluster
NODE_IP=10.213.0.1
POD_CIDR=10.214.0.0/24
SVC_CIDR=10.215.0.0/24
API_SVC_IP=10.215.0.1
DNS_IP=10.215.0.10
VETH=ctc0
BRIDGE=ctcbr0
CGROUP_ROOT=corral-testcluster
SYSTEM_IMAGE=docker.io/corral/testcluster-system:v1
ETCD_URL=http://127.0.0.1:23790
KUBECONFIG_OUT=$DIR/kubeconfig
K8S_VERSION=v1.36.3
CHAIN_RE='^(KUBE-|CNI-|CORRAL-NP)'
# Node IP, veth and iptables chains are machine-wide: one cluster per machine. This file
# names the folder of the cluster that owns them (another checkout's cluster is reused).
OWNER=/run/corral-testcluster.owner

log() { echo "testcluster: $*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# --- cleanup (idempotent; safe after a crash) ------------------------------------------

stop_pids() {
  local pids=() pid
  for f in "$DIR"/run/*.pid; do
    [[ -e $f ]] && pid=$(cat "$f") && [[ -d /proc/$pid ]] && pids+=("$pid")
  done
  # Strays (shims, a component whose pid file was lost): our binary, or our containerd and
  # its shims (named by our config or socket). Not merely "mentions the folder": a build does.
  for pid in $(grep -lsaF -e "$DIR/run/containerd.sock" -e "$DIR/conf/containerd.toml" -e "$BIN" \
               /proc/[0-9]*/cmdline | cut -d/ -f3); do
    local argv0; argv0=$(tr '\0' '\n' 2>/dev/null </proc/"$pid"/cmdline | head -1) || continue
    case $argv0 in
      "$BIN" | /usr/bin/containerd | *containerd-shim*) pids+=("$pid") ;;
    esac
  done
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do [[ -d /proc/$pid ]] && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

# Pod processes live in the kubelet's cgroup tree: kill them, then remove the tree.
stop_pods() {
  local procs
  for _ in 1 2 3; do
    procs=$(find /sys/fs/cgroup/*/"$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    [[ -z $procs ]] && break
    kill -KILL $procs 2>/dev/null || true
    sleep 0.3
  done
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

unmount_all() {
  local m
  for _ in 1 2 3; do
    m=$(awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
    [[ -z $m ]] && return 0
    while read -r mp; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; done <<<"$m"
  done
}

# Remove every rule that jumps to one of our chains, then the chains (iptables and ip6tables).
clean_chains() {
  local cmd table chains
  for cmd in iptables ip6tables; do
    command -v $cmd >/dev/null || continue
    for table in filter nat mangle raw; do
      $cmd -t $table -S >/dev/null 2>&1 || continue
      chains=$($cmd -t $table -S | awk '$1 == "-N" {print $2}' | grep -E "$CHAIN_RE" || true)
      [[ -z $chains ]] && continue
      $cmd -t $table -S | grep -E -- "-j ($(echo $chains | tr ' ' '|'))( |$)" | grep '^-A' |
        while read -r rule; do eval "$cmd -t $table ${rule/-A/-D}" 2>/dev/null || true; done || true
      for c in $chains; do $cmd -t $table -F "$c" 2>/dev/null || true; done
      for c in $chains; do $cmd -t $table -X "$c" 2>/dev/null || true; done
    done
  done
}

owner_dir() { [[ -f $OWNER ]] && cat "$OWNER" || echo "$DIR"; }
owner_alive() { local d; d=$(owner_dir); [[ -f $d/run/kube-apiserver.pid && -d /proc/$(cat "$d/run/kube-apiserver.pid") ]]; }

cleanup() {
  if [[ $(owner_dir) != "$DIR" ]] && owner_alive; then
    die "the cluster of $(owner_dir) is running and owns the node IP; stop it there first"
  fi
  stop_pids
  stop_pods
  unmount_all
  [[ -x $BIN ]] && "$BIN" kube-proxy --cleanup >/dev/null 2>&1 || true
  clean_chains
  ip link del "$VETH" 2>/dev/null || true
  for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$DIR/run" "$DIR/state" "$DIR/logs.previous"
  [[ -d $DIR/logs ]] && mv "$DIR/logs" "$DIR/logs.previous"
  rm -f "$KUBECONFIG_OUT" "$OWNER"
}

# --- PKI and kubeconfigs -----------------------------------------------------------------

cert() { # name CN O [SANs]
  local name=$1 cn=$2 org=$3 san=${4:-}
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=${san:+serverAuth,}clientAuth${san:+
subjectAltName=$san}"
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/pki/$name.key" 2>/dev/null
  openssl req -new -key "$DIR/pki/$name.key" -subj "/CN=$cn${org:+/O=$org}" -out "$DIR/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$DIR/pki/ca.crt" -CAkey "$DIR/pki/ca.key" -CAcreateserial \
    -days 30 -extfile <(echo "$ext") -out "$DIR/pki/$name.crt" 2>/dev/null
  rm -f "$DIR/pki/$name.csr"
}

make_pki() {
  mkdir -p "$DIR/pki" && chmod 700 "$DIR/pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$DIR/pki/ca.key" -subj "/CN=corral-testcluster-ca" -days 30 -out "$DIR/pki/ca.crt" 2>/dev/null
  cert apiserver kube-apiserver "" "IP:$NODE_IP,IP:$API_SVC_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert kubelet-serving "system:node:$NODE" system:nodes "IP:$NODE_IP,DNS:$NODE"
  cert admin admin system:masters
  cert apiserver-kubelet kube-apiserver-kubelet-client system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kubelet "system:node:$NODE" system:nodes
  cert kube-proxy system:kube-proxy ""
  cert netpol corral:testcluster-netpol ""
  openssl genrsa -out "$DIR/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
}

kubeconfig() { # name server -> writes $DIR/conf/name.kubeconfig with embedded certs
  local name=$1 server=${2:-https://$NODE_IP:6443} out=${3:-$DIR/conf/$1.kubeconfig}
  cat >"$out" <<KC
apiVersion: v1
kind: Config
clusters:
- name: corral-testcluster
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$DIR/pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$DIR/pki/$name.crt")
    client-key-data: $(base64 -w0 "$DIR/pki/$name.key")
contexts:
- name: corral-testcluster
  context: {cluster: corral-testcluster, user: $name}
current-context: corral-testcluster
KC
  chmod 600 "$out"
}

# --- configuration files -------------------------------------------------------------

write_configs() {
  mkdir -p "$DIR/conf" "$DIR/cni/net.d" "$DIR/run" "$DIR/state" "$DIR/logs"
  for n in controller-manager scheduler kubelet kube-proxy netpol; do kubeconfig $n; done
  kubeconfig admin "https://$NODE_IP:6443" "$KUBECONFIG_OUT"
  sed -e "s#@DIR@#$DIR#g" -e "s#@NODE_IP@#$NODE_IP#g" -e "s#@POD_CIDR@#$POD_CIDR#g" \
      -e "s#@DNS_IP@#$DNS_IP#g" -e "s#@BRIDGE@#$BRIDGE#g" -e "s#@CGROUP_ROOT@#$CGROUP_ROOT#g" \
      -e "s#@SYSTEM_IMAGE@#$SYSTEM_IMAGE#g" -e "s#@POD_GW@#${POD_CIDR%.0/24}.1#g" \
    -i "$DIR"/conf/*.yaml "$DIR"/conf/*.toml "$DIR"/cni/net.d/*.conflist
}

copy_templates() {
  mkdir -p "$DIR/conf" "$DIR/cni/net.d"
  cp tools/testcluster/config/{kubelet.yaml,kube-proxy.yaml,admission.yaml} "$DIR/conf/"
  cp tools/testcluster/config/containerd.toml "$DIR/conf/"
  cp tools/testcluster/config/10-corral.conflist "$DIR/cni/net.d/"
}

# --- processes --------------------------------------------------------------------------

start() { # name command...
  local name=$1; shift
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/run/$name.pid"
}

wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    for f in "$DIR"/run/*.pid; do
      [[ -d /proc/$(cat "$f") ]] || die "$(basename "$f" .pid) exited while waiting for $what; see $DIR/logs/$(basename "$f" .pid).log: $(tail -3 "$DIR/logs/$(basename "$f" .pid).log")"
    done
    sleep 0.2
  done
  die "$what not ready after ${secs}s (logs in $DIR/logs)"
}

api_ok() { curl -sf --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "https://$NODE_IP:6443$1"; }
ctr_() { ctr --address "$DIR/run/containerd.sock" -n k8s.io "$@"; }
kubectl_() { "$KUBECTL" --kubeconfig "$KUBECONFIG_OUT" "$@"; }

setup_network() {
  ip link add "$VETH" type veth peer name "${VETH}p"
  ip addr add "$NODE_IP/30" dev "$VETH"
  ip link set "${VETH}p" up
  ip link set "$VETH" up
  sysctl -qw net.ipv4.ip_forward=1
  for d in /sys/fs/cgroup/*/; do mkdir -p "$d$CGROUP_ROOT" 2>/dev/null || true; done
  # cgroup v1 cpuset: a new group starts with no CPUs and memory nodes; inherit the root's.
  local cs=/sys/fs/cgroup/cpuset
  if [[ -d $cs/$CGROUP_ROOT ]]; then
    cat $cs/cpuset.cpus >$cs/$CGROUP_ROOT/cpuset.cpus && cat $cs/cpuset.mems >$cs/$CGROUP_ROOT/cpuset.mems
  fi
}

start_control_plane() {
  start etcd "$BIN" etcd --data-dir "$DIR/state/etcd" --client-url "$ETCD_URL" --peer-url http://127.0.0.1:23800
  wait_for etcd 30 curl -sf "$ETCD_URL/health"
  start kube-apiserver "$BIN" kube-apiserver --etcd-servers="$ETCD_URL" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
    --service-cluster-ip-range="$SVC_CIDR" --cert-dir="$DIR/state/apiserver" \
    --tls-cert-file="$DIR/pki/apiserver.crt" --tls-private-key-file="$DIR/pki/apiserver.key" \
    --client-ca-file="$DIR/pki/ca.crt" --kubelet-certificate-authority="$DIR/pki/ca.crt" \
    --kubelet-client-certificate="$DIR/pki/apiserver-kubelet.crt" --kubelet-client-key="$DIR/pki/apiserver-kubelet.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$DIR/pki/sa.pub" --service-account-signing-key-file="$DIR/pki/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --admission-control-config-file="$DIR/conf/admission.yaml" --profiling=false \
    --allow-privileged=true --event-ttl=10m --kubelet-preferred-address-types=InternalIP,Hostname
  wait_for kube-apiserver 120 api_ok /readyz
  start kube-controller-manager "$BIN" kube-controller-manager --kubeconfig="$DIR/conf/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$DIR/conf/controller-manager.kubeconfig" --authorization-kubeconfig="$DIR/conf/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$DIR/pki/sa.key" --root-ca-file="$DIR/pki/ca.crt" \
    --cluster-signing-cert-file="$DIR/pki/ca.crt" --cluster-signing-key-file="$DIR/pki/ca.key" \
    --profiling=false
  start kube-scheduler "$BIN" kube-scheduler --kubeconfig="$DIR/conf/scheduler.kubeconfig" \
    --authentication-kubeconfig="$DIR/conf/scheduler.kubeconfig" --authorization-kubeconfig="$DIR/conf/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false
}

start_node() {
  start containerd /usr/bin/containerd --config "$DIR/conf/containerd.toml"
  wait_for containerd 30 ctr_ version
  # The pod sandbox ("pause") image and the DNS image are one small image of ours.
  ctr_ images import --no-unpack=false - <"$DIR/bin/systemimage.tar" >/dev/null
  start kubelet "$BIN" kubelet --config="$DIR/conf/kubelet.yaml" --kubeconfig="$DIR/conf/kubelet.kubeconfig" \
    --root-dir="$DIR/state/kubelet" --node-ip="$NODE_IP" --hostname-override="$NODE" \
    --cert-dir="$DIR/state/kubelet-pki"
  start kube-proxy "$BIN" kube-proxy --config="$DIR/conf/kube-proxy.yaml" --hostname-override="$NODE"
  start netpol "$BIN" netpol --kubeconfig="$DIR/conf/netpol.kubeconfig" --pod-cidr="$POD_CIDR" --node-ip="$NODE_IP"
}

node_ready() { kubectl_ get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }
dns_ready() { kubectl_ -n kube-system get deploy kube-dns -o jsonpath='{.status.availableReplicas}' | grep -qx 1; }

up() {
  [[ $(id -u) == 0 ]] || die "needs root (veth, iptables, mounts, cgroups)"
  for tool in /usr/bin/containerd runc ctr openssl iptables ip /usr/lib/cni/bridge /usr/lib/cni/firewall; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install containerd runc containernetworking-plugins iptables iproute2 openssl"
  done
  [[ -x $BIN && -x $SYSIMG && -f $DIR/bin/systemimage.tar ]] || die "$BIN is not built: run make k8s-up (it builds tools/testcluster first)"
  if [[ -f $KUBECONFIG_OUT ]] && api_ok /readyz && node_ready 2>/dev/null; then
    log "already up; kubeconfig $KUBECONFIG_OUT"
    return 0
  fi
  cleanup
  echo "$DIR" >"$OWNER"
  local t0; t0=$(now)
  copy_templates
  make_pki
  write_configs
  setup_network
  start_control_plane
  local t_cp; t_cp=$(since "$t0")
  kubectl_ apply -f tools/testcluster/manifests/ >/dev/null
  local t1; t1=$(now)
  start_node
  wait_for "node Ready" 120 node_ready
  local t_node; t_node=$(since "$t1")
  wait_for "cluster DNS" 120 dns_ready
  local t_all; t_all=$(since "$t0")
  local rss; rss=$(for f in "$DIR"/run/*.pid; do awk '/VmRSS/ {print $2}' /proc/"$(cat "$f")"/status; done | awk '{s+=$1} END {printf "%.0f", s/1024}')
  printf '{"control_plane_ready_s": %s, "node_ready_after_kubelet_s": %s, "dns_ready_total_s": %s, "rss_mib": %s, "kubernetes": "%s"}\n' \
    "$t_cp" "$t_node" "$t_all" "$rss" "$K8S_VERSION" | tee "$DIR/start-times.json" >&2
}

load() { # import docker images into the runtime, no registry
  local image id seen
  for image in "$@"; do
    id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "image $image is not built (make images)"
    seen=$DIR/run/images/$(echo "$image" | tr '/:' '__')
    [[ -f $seen && $(cat "$seen") == "$id" ]] && continue  # this build is already in the runtime
    docker save "$image" | ctr_ images import - >/dev/null
    mkdir -p "$DIR/run/images" && echo "$id" >"$seen"
    log "loaded $image"
  done
}

KUBECTL=${KUBECTL:-$(command -v kubectl || echo "$ROOT/build/bin/kubectl")}
case ${1:-} in
  up) up ;;
  down) cleanup; log "down (state removed; binaries kept in $DIR/bin)" ;;
  status) DIR=$(owner_dir); KUBECONFIG_OUT=$DIR/kubeconfig
          api_ok /readyz >/dev/null && node_ready && echo "testcluster: up ($DIR), kubeconfig $KUBECONFIG_OUT" ;;
  kubeconfig) echo "$(owner_dir)/kubeconfig" ;;
  load) shift; DIR=$(owner_dir); load "$@" ;;
  *) die "usage: $0 up|down|status|kubeconfig|load IMAGE..." ;;
esac
