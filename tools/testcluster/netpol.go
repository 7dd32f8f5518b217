// A small NetworkPolicy enforcer for the single-node test cluster: it turns policies,
// pods and namespaces into iptables rules in chains of its own, hooked first into FORWARD
// (pod to pod, bridged traffic via br_netfilter) and INPUT (pod to the node itself, so the
// API server and kubelet ports are filtered too). No nft queues: this kernel lacks them.
//
// It fails closed: a pod address the enforcer has not seen yet sends and receives nothing.
// A container starts before its pod's IP reaches the API server and this enforcer, and in
// that window a runner pod's first packets would otherwise pass before its policy existed.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	chainMain    = "CORRAL-NP"
	chainEgress  = "CORRAL-NP-EGRESS"
	chainIngress = "CORRAL-NP-INGRESS"
	chainSource  = "CORRAL-NP-KNOWN-SRC"
	chainDest    = "CORRAL-NP-KNOWN-DST"
)

func newNetpolCommand() *cobra.Command {
	var kubeconfig, podCIDR string
	cmd := &cobra.Command{
		Use:   "netpol",
		Short: "enforce NetworkPolicy with iptables on this node",
		RunE: func(cmd *cobra.Command, _ []string) error {
			config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			client, err := kubernetes.NewForConfig(config)
			if err != nil {
				return err
			}
			return runNetpol(cmd.Context(), client, podCIDR)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the enforcer")
	cmd.Flags().StringVar(&podCIDR, "pod-cidr", "", "the pods' address range")
	cmd.Flags().String("node-ip", "", "unused; kept for symmetry with the other components")
	return cmd
}

type snapshot struct {
	pods       []*corev1.Pod
	namespaces []*corev1.Namespace
	policies   []*networkingv1.NetworkPolicy
}

func runNetpol(ctx context.Context, client kubernetes.Interface, podCIDR string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods()
	namespaces := factory.Core().V1().Namespaces()
	policies := factory.Networking().V1().NetworkPolicies()
	poke := make(chan struct{}, 1)
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { nudge(poke) },
		UpdateFunc: func(any, any) { nudge(poke) },
		DeleteFunc: func(any) { nudge(poke) },
	}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), namespaces.Informer(), policies.Informer()} {
		if _, err := inf.AddEventHandler(notify); err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	fmt.Println("netpol: caches synced; enforcing")
	resync := time.NewTicker(10 * time.Second)
	defer resync.Stop()
	for {
		podList, _ := pods.Lister().List(labels.Everything())
		nsList, _ := namespaces.Lister().List(labels.Everything())
		polList, _ := policies.Lister().List(labels.Everything())
		snap := snapshot{podList, nsList, polList}
		rules := append(knownPodRules(livePods(podList)), renderRules(snap)...)
		if err := applyRules(rules, podCIDR); err != nil {
			fmt.Fprintln(os.Stderr, "netpol: apply:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
			time.Sleep(50 * time.Millisecond) // let a burst of events settle into one update
		case <-resync.C:
		}
	}
}

func nudge(poke chan struct{}) {
	select {
	case poke <- struct{}{}:
	default:
	}
}

// applyRules replaces our chains atomically and keeps our hooks first in FORWARD and INPUT.
func applyRules(rules []string, podCIDR string) error {
	var b bytes.Buffer
	b.WriteString("*filter\n")
	for _, c := range []string{chainMain, chainEgress, chainIngress, chainSource, chainDest} {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c)
	}
	fmt.Fprintf(&b, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n", chainMain)
	fmt.Fprintf(&b, "-A %s -s %s -j %s\n-A %s -d %s -j %s\n", chainMain, podCIDR, chainSource, chainMain, podCIDR, chainDest)
	fmt.Fprintf(&b, "-A %s -j %s\n-A %s -j %s\n", chainMain, chainEgress, chainMain, chainIngress)
	for _, r := range rules {
		b.WriteString(r + "\n")
	}
	b.WriteString("COMMIT\n")
	cmd := exec.Command("iptables-restore", "--noflush", "--wait")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	hooks := map[string][]string{
		"FORWARD": {"-j", chainMain},
		"INPUT":   {"-s", podCIDR, "-j", chainMain},
	}
	for chain, spec := range hooks {
		first, _ := exec.Command("iptables", "-w", "-S", chain, "1").Output()
		if strings.TrimSpace(string(first)) == "-A "+chain+" "+strings.Join(spec, " ") {
			continue
		}
		for exec.Command("iptables", append([]string{"-w", "-D", chain}, spec...)...).Run() == nil {
		}
		if out, err := exec.Command("iptables", append([]string{"-w", "-I", chain, "1"}, spec...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("hook %s: %v: %s", chain, err, out)
		}
	}
	return nil
}

// knownPodRules lets each live pod's address through the fail-closed gate (the last rule of
// each known-address chain rejects every other pod-range address).
func knownPodRules(live []*corev1.Pod) []string {
	var rules []string
	for _, pod := range live {
		rules = append(rules,
			fmt.Sprintf("-A %s -s %s/32 -j RETURN", chainSource, pod.Status.PodIP),
			fmt.Sprintf("-A %s -d %s/32 -j RETURN", chainDest, pod.Status.PodIP))
	}
	for _, c := range []string{chainSource, chainDest} {
		rules = append(rules,
			fmt.Sprintf("-A %s -p tcp -j REJECT --reject-with tcp-reset", c),
			fmt.Sprintf("-A %s -j REJECT --reject-with icmp-port-unreachable", c))
	}
	return rules
}

// renderRules lists the -A lines of the egress and ingress chains. For each isolated pod:
// one RETURN per allowed (peer, port), then a REJECT; RETURN hands the packet on to the
// next check (the other direction) and then to the rest of the machine's rules.
func renderRules(s snapshot) []string {
	var rules []string
	live := livePods(s.pods)
	for _, pod := range live {
		for _, dir := range []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress} {
			isolated := false
			var allows []string
			for _, pol := range s.policies {
				if !selects(pol, pod, dir) {
					continue
				}
				isolated = true
				allows = append(allows, policyAllows(pol, pod, dir, live, s.namespaces)...)
			}
			if !isolated {
				continue
			}
			chain, own := chainEgress, "-s "+pod.Status.PodIP
			if dir == networkingv1.PolicyTypeIngress {
				chain, own = chainIngress, "-d "+pod.Status.PodIP
			}
			for _, a := range allows {
				rules = append(rules, fmt.Sprintf("-A %s %s %s -j RETURN", chain, own, a))
			}
			rules = append(rules,
				fmt.Sprintf("-A %s %s -p tcp -j REJECT --reject-with tcp-reset", chain, own),
				fmt.Sprintf("-A %s %s -j REJECT --reject-with icmp-port-unreachable", chain, own))
		}
	}
	return rules
}

func livePods(pods []*corev1.Pod) []*corev1.Pod {
	var live []*corev1.Pod
	for _, p := range pods {
		if p.Status.PodIP == "" || p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		live = append(live, p)
	}
	return live
}

func selects(pol *networkingv1.NetworkPolicy, pod *corev1.Pod, dir networkingv1.PolicyType) bool {
	if pol.Namespace != pod.Namespace {
		return false
	}
	hasType := false
	for _, t := range pol.Spec.PolicyTypes {
		hasType = hasType || t == dir
	}
	return hasType && matches(&pol.Spec.PodSelector, pod.Labels)
}

func matches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

// policyAllows gives the iptables match fragments (peer address and port) one policy allows.
func policyAllows(pol *networkingv1.NetworkPolicy, pod *corev1.Pod, dir networkingv1.PolicyType, live []*corev1.Pod, nss []*corev1.Namespace) []string {
	peerFlag := "-d"
	type rule struct {
		peers []networkingv1.NetworkPolicyPeer
		ports []networkingv1.NetworkPolicyPort
	}
	var rs []rule
	if dir == networkingv1.PolicyTypeEgress {
		for _, r := range pol.Spec.Egress {
			rs = append(rs, rule{r.To, r.Ports})
		}
	} else {
		peerFlag = "-s"
		for _, r := range pol.Spec.Ingress {
			rs = append(rs, rule{r.From, r.Ports})
		}
	}
	var out []string
	for _, r := range rs {
		var addrs []string
		if len(r.peers) == 0 {
			addrs = []string{""} // no peers listed: any address
		}
		for _, peer := range r.peers {
			addrs = append(addrs, peerAddrs(peer, pol.Namespace, live, nss, peerFlag)...)
		}
		ports := portMatches(r.ports)
		for _, a := range addrs {
			for _, p := range ports {
				out = append(out, strings.TrimSpace(a+" "+p))
			}
		}
	}
	return out
}

func peerAddrs(peer networkingv1.NetworkPolicyPeer, ns string, live []*corev1.Pod, nss []*corev1.Namespace, flag string) []string {
	if peer.IPBlock != nil {
		if len(peer.IPBlock.Except) > 0 {
			fmt.Fprintln(os.Stderr, "netpol: ipBlock.except is not supported; the block is allowed whole:", peer.IPBlock.CIDR)
		}
		return []string{flag + " " + peer.IPBlock.CIDR}
	}
	allowedNS := map[string]bool{ns: peer.NamespaceSelector == nil}
	if peer.NamespaceSelector != nil {
		for _, n := range nss {
			allowedNS[n.Name] = matches(peer.NamespaceSelector, n.Labels)
		}
	}
	var addrs []string
	for _, p := range live {
		if !allowedNS[p.Namespace] {
			continue
		}
		if peer.PodSelector != nil && !matches(peer.PodSelector, p.Labels) {
			continue
		}
		addrs = append(addrs, flag+" "+p.Status.PodIP+"/32")
	}
	if addrs == nil {
		return []string{} // selectors match no pod: the peer allows nothing
	}
	return addrs
}

// portMatches: "" for any port; named ports are not resolved (the chart uses numbers).
func portMatches(ports []networkingv1.NetworkPolicyPort) []string {
	if len(ports) == 0 {
		return []string{""}
	}
	var out []string
	for _, p := range ports {
		proto := "tcp"
		if p.Protocol != nil {
			proto = strings.ToLower(string(*p.Protocol))
		}
		switch {
		case p.Port == nil:
			out = append(out, "-p "+proto)
		case p.Port.IntValue() == 0:
			fmt.Fprintln(os.Stderr, "netpol: named port not supported:", p.Port.String())
		case p.EndPort != nil:
			out = append(out, fmt.Sprintf("-p %s --dport %d:%d", proto, p.Port.IntValue(), *p.EndPort))
		default:
			out = append(out, fmt.Sprintf("-p %s --dport %d", proto, p.Port.IntValue()))
		}
	}
	return out
}
