package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/shell"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestDrift_DNSChangedBehindTheBotsBackOnBIND: the bot sets a record on
// a real BIND 9; someone changes it with a TSIG-signed update of their
// own; the next sweep reads the primary and reports drift once.
func TestDrift_DNSChangedBehindTheBotsBackOnBIND(t *testing.T) {
	ns := bindtest.Start(t, bindtest.Options{})
	_, cfgPath := bindShellConfig(t, ns, "", `drift: {interval: 0}
groups:
  ops: [U0OPS0001, U0OPS0002]
policies:
  - name: dns-changes
    actions: [dns]
    targets: ["*.`+bindtest.Zone+`"]
    request: [group:ops]
    approve: [{group: ops, count: 1}]
`)
	code, out, errOut := run(t, "@U0OPS0001 dns set ci.example.test A 192.0.2.53 600\n@U0OPS0002 approve R1\n", nil, "shell", "--config", cfgPath)
	if code != exitOK || !strings.Contains(out, "succeeded") {
		t.Fatalf("shell exit %d:\n%s\n%s", code, out, errOut)
	}

	ctx := context.Background()
	cfg, err := loadConfig(ctx, config.Options{}, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b, db, chat := driftBot(t, cfg)
	if err := b.SweepDrift(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if v := b.Drift()["ci.example.test. A"]; v.Drifted || v.Found != "A 192.0.2.53 ttl 600" {
		t.Fatalf("as the bot set it: %+v", v)
	}

	// Someone else's TSIG-signed update.
	m := new(dns.Msg)
	m.SetUpdate(bindtest.Zone + ".")
	rr, err := dns.NewRR("ci.example.test. 600 IN A 192.0.2.99")
	if err != nil {
		t.Fatal(err)
	}
	m.RemoveRRset([]dns.RR{rr})
	m.Insert([]dns.RR{rr})
	m.SetTsig(dns.CanonicalName(ns.Key), dns.Fqdn(ns.Algorithm), 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{dns.CanonicalName(ns.Key): ns.Secret.Reveal()}}
	resp, _, err := c.Exchange(m, ns.Addr)
	if err != nil || resp.Rcode != dns.RcodeSuccess {
		t.Fatalf("update behind the bot's back: %v %v", err, resp)
	}

	for range 2 {
		if err := b.SweepDrift(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	v := b.Drift()["ci.example.test. A"]
	if !v.Drifted || v.Expected != "A 192.0.2.53 ttl 600" || v.Found != "A 192.0.2.99 ttl 600" {
		t.Fatalf("after the update behind its back: %+v", v)
	}
	var evs []cs.Event
	db.View(ctx, func(tx bot.ReadTx) error {
		evs, err = tx.Events(bot.EventQuery{Kind: cs.EventDriftDetected})
		return err
	})
	if len(evs) != 1 || evs[0].Target != "ci.example.test" {
		t.Fatalf("drift.detected records: %+v", evs)
	}
	if err := b.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	if s := chat.String(); strings.Count(s, "Drift on ci.example.test. A") != 1 {
		t.Errorf("want one drift message:\n%s", s)
	}
}

// driftBot is the real bot of cfg (drift sweeps by hand), its store and
// what it says.
func driftBot(t testing.TB, cfg *config.Config) (*bot.Bot, *store.DB, *bytes.Buffer) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	bc, execs, err := botConfig(context.Background(), cfg, modeReal, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { execs.Close() }) // runs after the bot closes: cleanups run last first
	var out bytes.Buffer
	w := bottest.NewWorld(t, bottest.Options{Config: bc, Chat: shell.NewChat(&out), Path: cfg.DB, Log: log})
	return w.Bot, w.DB, &out
}

// BenchmarkDriftSweep_200DNSNamesOnBIND is one drift sweep over 200 A
// records the bot set, each read from a real BIND 9 primary.
func BenchmarkDriftSweep_200DNSNamesOnBIND(b *testing.B) {
	const n = 200
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("n%d 300 IN A 192.0.2.%d", i, i%250+1))
	}
	ns := bindtest.Start(b, bindtest.Options{Records: lines})
	dir := b.TempDir()
	cfg := &config.Config{DB: filepath.Join(dir, "cs.db"), DNS: []config.Zone{{Zone: bindtest.Zone, Server: ns.Addr, TSIGKey: ns.Key,
		TSIGAlgorithm: ns.Algorithm, TSIGSecret: ns.Secret}}}
	db, err := store.Open(cfg.DB, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	// What the bot set: as its dns requests leave it in the store.
	err = db.Update(context.Background(), func(tx bot.Tx) error {
		for i := range n {
			id, err := tx.NextRequestID()
			if err != nil {
				return err
			}
			name := fmt.Sprintf("n%d.%s.", i, bindtest.Zone)
			rec := cs.Record{Name: name, Type: "A", TTL: 300, Value: fmt.Sprintf("192.0.2.%d", i%250+1)}
			r := cs.Request{ID: id, State: cs.StateSucceeded, Action: cs.Action{Kind: cs.ActionDNS, Target: name,
				DNS: &cs.DNSChange{Op: cs.DNSSet, Name: name, Type: "A", Value: rec.Value, TTL: 300, Proposed: []cs.Record{rec}}}}
			if err := tx.PutRequest(r); err != nil {
				return err
			}
			if _, err := tx.Append(cs.Event{Kind: cs.EventExecutionSucceeded, Actor: cs.ActorBot, Request: id, Action: cs.ActionDNS, Target: name}); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	bt, _, _ := driftBot(b, cfg)
	ctx := context.Background()
	if err := bt.SweepDrift(ctx, ""); err != nil { // loads what was set
		b.Fatal(err)
	}
	if d := bt.Drift(); len(d) != n || d["n7.example.test. A"].Drifted || d["n7.example.test. A"].Unknown != "" {
		b.Fatalf("%d targets read; n7: %+v", len(d), d["n7.example.test. A"])
	}
	b.ResetTimer()
	for b.Loop() {
		if err := bt.SweepDrift(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
}
