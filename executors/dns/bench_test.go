package dns

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// BenchmarkDNSSet is one approved `dns set` on a real BIND 9 primary, from
// approval to verified: Execute, as the bot calls it on approval (it reads
// the RRset and the serial, sends the signed UPDATE, reads both again to
// verify). Prepare, done when the request was made, is not timed. The
// baseline, alternating with ours on the same server and name, is what an
// operator does by hand: `nsupdate -y` of the same change, then a `dig` of
// the name to check it. It reports the mean of each and ours ÷ theirs
// (target: ≤ 1.2). It needs named, nsupdate and dig; without them it skips.
//
//	go test ./executors/dns -run '^$' -bench DNSSet -benchtime 50x
func BenchmarkDNSSet(b *testing.B) {
	nsupdate, err1 := exec.LookPath("nsupdate")
	dig, err2 := exec.LookPath("dig")
	if err1 != nil || err2 != nil {
		b.Skip("nsupdate and dig are not installed: " + bindtest.Install)
	}
	h := start(b, bindtest.Options{}, nil)
	host, port, err := net.SplitHostPort(h.srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	const name = "bench." + bindtest.Zone + "."
	ctx := context.Background()
	key := strings.TrimSuffix(h.srv.Algorithm, ".") + ":" + strings.TrimSuffix(h.srv.Key, ".") + ":" + h.srv.Secret.Reveal()
	var ours, theirs time.Duration
	value := 0
	next := func() string { value++; return fmt.Sprintf("192.0.2.%d", value%250+1) }
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ip := next()
		a, err := h.e.Prepare(ctx, cs.Action{Kind: cs.ActionDNS, Target: name, DNS: &cs.DNSChange{Op: cs.DNSSet, Name: name, Type: "A", Value: ip, TTL: 300}})
		if err != nil {
			b.Fatalf("Prepare: %v", err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := h.e.Execute(ctx, cs.Request{ID: "R1", Action: a}, func(string) error { return nil }); err != nil {
			b.Fatalf("Execute: %v", err)
		}
		ours += time.Since(start)

		ip = next()
		start = time.Now()
		cmd := exec.Command(nsupdate, "-y", key)
		cmd.Stdin = strings.NewReader(fmt.Sprintf("server %s %s\nzone %s.\nupdate delete %s A\nupdate add %s 300 A %s\nsend\n",
			host, port, bindtest.Zone, name, name, ip))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("nsupdate: %v\n%s", err, out)
		}
		out, err := exec.Command(dig, "+short", "@"+host, "-p", port, name, "A").Output()
		theirs += time.Since(start)
		if err != nil || strings.TrimSpace(string(out)) != ip {
			b.Fatalf("dig after nsupdate: %q, %v; want %s", out, err, ip)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(ours.Microseconds())/1000/n, "ms/change")
	b.ReportMetric(float64(theirs.Microseconds())/1000/n, "nsupdate-ms/change")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "x-nsupdate")
}
