package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestExecute_UpdateUnanswered: when the primary does not answer the
// UPDATE in time, Execute reads the records again to learn what became
// of it. A lost answer (the primary applied the update) is a success,
// verified, and says so; a lost update fails with the timeout and what
// the primary holds. A proxy between the executor and a real BIND loses
// the one or the other.
func TestExecute_UpdateUnanswered(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{})
	for _, tt := range []struct {
		lose    string // "update": BIND never sees it; "answer": BIND applies it, the answer is lost
		applied bool
	}{{"update", false}, {"answer", true}} {
		t.Run("lost "+tt.lose, func(t *testing.T) {
			proxy := startUpdateLoser(t, srv.Addr, tt.lose)
			// A timeout long enough for every query on a busy machine; the
			// lost message makes the UPDATE's run out.
			h := attach(t, srv, func(z *Zone, o *Options) { z.Server = proxy; o.Timeout = 2 * time.Second })
			name := "lost-" + tt.lose + "." + bindtest.Zone + "."
			res, steps, err := h.execute(t, h.prepare(t, set(name, "A", "192.0.2.7", 300)))
			got := h.query(t, name, "A")
			if !tt.applied {
				if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "read again, "+name+" A is empty, not "+name+" 300 A 192.0.2.7: the update is not applied, but the primary may still apply it late") {
					t.Fatalf("Execute = %q, %v; want the timeout and the records read again", res.Summary, err)
				}
				if len(got) != 0 {
					t.Errorf("the primary holds %q after a lost UPDATE", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v; want the lost answer found applied", err)
			}
			if want := "the primary did not answer the UPDATE for zone " + bindtest.Zone + ". within 2s, but read again " + name + " A is as proposed: it was applied"; !slices.Contains(steps, want) {
				t.Errorf("steps %q lack %q", steps, want)
			}
			if !strings.HasPrefix(res.Summary, name+" A is now "+name+" 300 A 192.0.2.7; SOA serial ") {
				t.Errorf("summary %q", res.Summary)
			}
			if want := []string{name + " 300 A 192.0.2.7"}; !slices.Equal(got, want) {
				t.Errorf("the primary holds %q, want %q", got, want)
			}
		})
	}
}

// startUpdateLoser forwards DNS over TCP to target, losing every UPDATE
// message (lose "update") or every answer to one (lose "answer"), and
// returns its address. Queries and their answers pass.
func startUpdateLoser(t *testing.T, target, lose string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); relayDNS(server, client, lose == "update"); server.Close() }()
			go func() { defer wg.Done(); relayDNS(client, server, lose == "answer"); client.Close() }()
		}
	}()
	return ln.Addr().String()
}

// relayDNS copies length-prefixed DNS messages from src to dst until src
// ends, dropping those whose opcode is UPDATE when loseUpdates is set
// (an answer has its request's opcode).
func relayDNS(dst io.Writer, src io.Reader, loseUpdates bool) {
	for {
		var size [2]byte
		if _, err := io.ReadFull(src, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(src, msg); err != nil {
			return
		}
		const opcodeUpdate = 5
		if loseUpdates && len(msg) > 2 && (msg[2]>>3)&0xF == opcodeUpdate {
			continue
		}
		if _, err := dst.Write(append(size[:], msg...)); err != nil {
			return
		}
	}
}
