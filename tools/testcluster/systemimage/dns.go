// Cluster DNS: A records for <service>.<namespace>.svc.<domain> from a poll of the API
// server's Service list; other names go to the node's resolver. UDP and TCP on port 53.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount/"

type registry struct {
	mu       sync.RWMutex
	services map[string]net.IP // "<name>.<namespace>" -> cluster IP
}

func (r *registry) lookup(key string) (net.IP, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ip, ok := r.services[key]
	return ip, ok
}

func serveDNS() error {
	domain := strings.TrimSuffix(envOr("CLUSTER_DOMAIN", "cluster.local"), ".") + "."
	client, err := apiClient()
	if err != nil {
		return err
	}
	reg := &registry{services: map[string]net.IP{}}
	if err := reg.refresh(client); err != nil {
		return err
	}
	go func() {
		for range time.Tick(time.Second) {
			if err := reg.refresh(client); err != nil {
				fmt.Fprintln(os.Stderr, "refresh:", err)
			}
		}
	}()
	h := &handler{reg: reg, suffix: ".svc." + domain, domain: "." + domain, upstream: upstreamResolver()}
	addr := envOr("LISTEN", ":53")
	go func() { fatal(h.serveTCP(addr)) }()
	return h.serveUDP(addr)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "dns:", err)
	os.Exit(1)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func apiClient() (*http.Client, error) {
	ca, err := os.ReadFile(saDir + "ca.crt")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

func (r *registry) refresh(client *http.Client) error {
	token, err := os.ReadFile(saDir + "token")
	if err != nil {
		return err
	}
	url := fmt.Sprintf("https://%s/api/v1/services", net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")))
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("list services: HTTP %d", resp.StatusCode)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name, Namespace string }
			Spec     struct {
				ClusterIP string `json:"clusterIP"`
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return err
	}
	services := map[string]net.IP{}
	for _, s := range list.Items {
		if ip := net.ParseIP(s.Spec.ClusterIP).To4(); ip != nil {
			services[s.Metadata.Name+"."+s.Metadata.Namespace] = ip
		}
	}
	r.mu.Lock()
	r.services = services
	r.mu.Unlock()
	return nil
}

// upstreamResolver is the first nameserver of the pod's resolv.conf (dnsPolicy: Default).
func upstreamResolver() string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return ""
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			return net.JoinHostPort(fields[1], "53")
		}
	}
	return ""
}

type handler struct {
	reg                      *registry
	suffix, domain, upstream string
}

func (h *handler) serveUDP(addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		query := append([]byte(nil), buf[:n]...)
		go func() {
			if reply := h.answer(query); reply != nil {
				conn.WriteTo(reply, peer)
			}
		}()
	}
}

func (h *handler) serveTCP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			var size uint16
			if binary.Read(conn, binary.BigEndian, &size) != nil {
				return
			}
			query := make([]byte, size)
			if _, err := io.ReadFull(conn, query); err != nil {
				return
			}
			if reply := h.answer(query); reply != nil {
				binary.Write(conn, binary.BigEndian, uint16(len(reply)))
				conn.Write(reply)
			}
		}()
	}
}

// answer builds the reply to one query; names outside the cluster domain are forwarded.
func (h *handler) answer(query []byte) []byte {
	var p dnsmessage.Parser
	header, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(q.Name.String())
	if !strings.HasSuffix(name, h.domain) {
		return h.forward(query)
	}
	rcode := dnsmessage.RCodeNameError
	var ip net.IP
	if key := strings.TrimSuffix(name, h.suffix); key != name {
		if found, ok := h.reg.lookup(key); ok {
			rcode, ip = dnsmessage.RCodeSuccess, found
		}
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: header.ID, Response: true, Authoritative: true, RecursionDesired: header.RecursionDesired, RCode: rcode})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if ip != nil && q.Type == dnsmessage.TypeA {
		var a [4]byte
		copy(a[:], ip)
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.AResource{A: a})
	}
	reply, err := b.Finish()
	if err != nil {
		return nil
	}
	return reply
}

func (h *handler) forward(query []byte) []byte {
	if h.upstream == "" {
		return nil
	}
	conn, err := net.DialTimeout("udp", h.upstream, 2*time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write(query); err != nil {
		return nil
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}
