package e2e

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

func slackCalls(sl *slacktest.Server, method string) int {
	n := 0
	for _, c := range sl.Calls() {
		if c.Method == method && c.OK {
			n++
		}
	}
	return n
}

// containerSlack is how the service's container reaches the fake Slack.
type containerSlack struct {
	apiURL string // slack.api_url for the container
	host   string // the name in apiURL, which the container must resolve
	addr   string // the host address it resolves to
	caPEM  []byte // the certificate the container must trust
}

// slackForContainers makes the fake Slack reachable from the service's
// container. The fake listens on the host's 127.0.0.1, with a certificate
// for 127.0.0.1 and one DNS name (httptest's example.com). The container
// sits on the stack's overlay network, whose way out is the host: it
// reaches the host at the gateway address of the engine's bridge network
// (docker0), where a TCP relay passes connections on to the fake unchanged,
// TLS end to end. The container resolves the certificate's DNS name to
// that address (extra_hosts, in the test's override file) and trusts the
// certificate (the test image's CA bundle is that certificate alone).
//
// Host networking would spare the relay, but a stack puts a service on the
// host network only in the stack file itself, which is not what users
// deploy; and the fake's Socket Mode URL names 127.0.0.1, which the
// container cannot reach, so the bot runs in HTTP mode, as
// deploy/countersign.yaml configures it.
func slackForContainers(t *testing.T, sl *slacktest.Server) containerSlack {
	t.Helper()
	u, err := url.Parse(sl.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("fake Slack: %v", err)
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if len(cert.DNSNames) == 0 {
		t.Fatalf("the fake Slack's certificate names no DNS name: %v", cert.IPAddresses)
	}
	gateway := bridgeGateway(t)
	port := relay(t, gateway, u.Host)
	host := cert.DNSNames[0]
	return containerSlack{
		apiURL: fmt.Sprintf("https://%s/api/", net.JoinHostPort(host, strconv.Itoa(port))),
		host:   host, addr: gateway,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
	}
}

// bridgeGateway returns the host's IPv4 address on the engine's bridge
// network: its IPAM gateway, or (engines that leave it out of the default
// bridge's IPAM, as 20.10 does) the address of its interface, docker0.
func bridgeGateway(t *testing.T) string {
	t.Helper()
	out := mustDocker(t, "network", "inspect", "bridge", "--format",
		`{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options "com.docker.network.bridge.name"}}`)
	gateways, ifname, _ := strings.Cut(out, "|")
	for _, gw := range strings.Fields(gateways) {
		if ip := net.ParseIP(gw); ip != nil && ip.To4() != nil {
			return gw
		}
	}
	if ifname != "" {
		if ifc, err := net.InterfaceByName(ifname); err == nil {
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					return n.IP.String()
				}
			}
		}
	}
	t.Fatalf("the engine's bridge network (%q) has no IPv4 gateway: the container cannot reach the test's fake Slack", out)
	return ""
}

// relay listens on host:0 and copies every connection to and from to. It
// returns the port; the listener and the connections close at cleanup.
func relay(t *testing.T, host, to string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("relay for the fake Slack on %s: %v", host, err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			track(in)
			track(out)
			for _, p := range [][2]net.Conn{{in, out}, {out, in}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					io.Copy(p[0], p[1])
					p[0].Close()
					p[1].Close()
				}()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port
}
