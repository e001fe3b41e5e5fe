package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// Errors callers branch on. Every error the executor returns wraps at
// most one of them, with a readable explanation around it.
var (
	// ErrChanged: the records are no longer what the approver saw; the
	// error is a *ChangedError holding the records as they are now.
	ErrChanged = errors.New("the records changed since approval")
	// ErrAuth: TSIG failed (wrong key name, secret or algorithm, or clocks
	// too far apart), either way round.
	ErrAuth = errors.New("TSIG authentication failed")
	// ErrRefused: the primary refused the query or update (REFUSED).
	ErrRefused = errors.New("the primary refused")
	// ErrServFail: the primary failed to process the message (SERVFAIL).
	ErrServFail = errors.New("the primary failed")
	// ErrNotAuthoritative: the server is not the primary of the zone.
	ErrNotAuthoritative = errors.New("not authoritative")
	// ErrTimeout: no answer in time.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no connection to the primary.
	ErrUnreachable = errors.New("cannot reach the primary")
	// ErrRcode: any other error answer.
	ErrRcode = errors.New("error answer")
	// ErrOutsideZone: the name is not in the executor's zone.
	ErrOutsideZone = errors.New("not in the zone")
	// ErrTypeNotAllowed: the zone does not allow changing this record type.
	ErrTypeNotAllowed = errors.New("record type not allowed")
	// ErrInvalid: a malformed name, value or TTL, or an action that is
	// not a prepared DNS change.
	ErrInvalid = errors.New("invalid")
	// ErrCNAMEConflict: a CNAME would sit beside other data at a name.
	ErrCNAMEConflict = errors.New("a CNAME cannot be beside other data")
	// ErrNothingToDelete: the RRset or the value to delete does not exist.
	ErrNothingToDelete = errors.New("nothing to delete")
	// ErrNoChange: the records are already as asked.
	ErrNoChange = errors.New("nothing to change")
	// ErrNotVerified: the primary accepted the update but does not now
	// hold the proposed records.
	ErrNotVerified = errors.New("the update did not take effect")
)

// ChangedError says the records changed between approval and execution.
type ChangedError struct {
	Name, Type string
	// Rcode is the primary's answer to the UPDATE ("YXRRSET" or
	// "NXRRSET") when its prerequisites caught the change, or "" when
	// the executor saw it when reading the records before sending.
	Rcode string
	// Now are the records of Name and Type as they are now, and any
	// record that conflicts with the change (a CNAME beside other data).
	Now []cs.Record
}

func (e *ChangedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrChanged.Error())
	if e.Rcode != "" {
		fmt.Fprintf(&b, " (the primary answered %s: its prerequisites did not hold)", e.Rcode)
	}
	fmt.Fprintf(&b, "; now: %s", listRecords(e.Now, "no "+e.Name+" "+e.Type+" records"))
	b.WriteString("; nothing was changed: ask again to change the records as they are now")
	return b.String()
}

// Unwrap makes errors.Is(err, ErrChanged) true.
func (e *ChangedError) Unwrap() error { return ErrChanged }

// answerError turns an error answer into readable text around a sentinel.
// what says what was sent ("update www.example.org. A", "query …").
func (e *Executor) answerError(what string, r *dns.Msg) error {
	var tsigErr uint16
	if t := r.IsTsig(); t != nil {
		tsigErr = t.Error
	}
	rc := dns.RcodeToString[r.Rcode]
	switch tsigErr {
	case 0:
	case dns.RcodeBadSig:
		return fmt.Errorf("%s: %w: the primary rejected the signature with key %s (BADSIG): the secret is not the one the primary has for that key", what, ErrAuth, e.key)
	case dns.RcodeBadKey:
		return fmt.Errorf("%s: %w: the primary does not know key %s with algorithm %s (BADKEY)", what, ErrAuth, e.key, e.algorithm)
	case dns.RcodeBadTime:
		return fmt.Errorf("%s: %w: the primary rejected the signing time (BADTIME): the clocks of the bot and the primary differ by more than %d seconds; check both are synchronised", what, ErrAuth, fudge)
	default:
		return fmt.Errorf("%s: %w: TSIG error %s (answer %s)", what, ErrAuth, rcodeName(int(tsigErr)), rc)
	}
	switch r.Rcode {
	case dns.RcodeNotAuth:
		return fmt.Errorf("%s: %w: %s is not authoritative for zone %s, or rejected key %s (NOTAUTH); check the server is the zone's primary", what, ErrNotAuthoritative, e.server, e.zone, e.key)
	case dns.RcodeRefused:
		if r.Opcode == dns.OpcodeUpdate {
			return fmt.Errorf("%s: %w the update (REFUSED): its update-policy does not let key %s change this name and type", what, ErrRefused, e.key)
		}
		return fmt.Errorf("%s: %w the query (REFUSED): it does not serve zone %s, or its allow-query does not include the bot", what, ErrRefused, e.zone)
	case dns.RcodeServerFailure:
		return fmt.Errorf("%s: %w to process it (SERVFAIL); the primary's log says why", what, ErrServFail)
	case dns.RcodeNotZone:
		return fmt.Errorf("%s: %w: the primary says the name is outside zone %s (NOTZONE)", what, ErrOutsideZone, e.zone)
	case dns.RcodeYXRrset, dns.RcodeNXRrset:
		return fmt.Errorf("%s: %w (the primary answered %s)", what, ErrChanged, rc)
	}
	return fmt.Errorf("%s: %w: the primary answered %s", what, ErrRcode, rcodeName(r.Rcode))
}

// transportError explains a failure to get a (verified) answer.
func (e *Executor) transportError(ctx context.Context, what string, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: %w: no answer from the primary %s within %s", what, ErrTimeout, e.server, e.opts.Timeout)
	case errors.Is(err, dns.ErrSig), errors.Is(err, dns.ErrAuth), errors.Is(err, dns.ErrTime),
		errors.Is(err, dns.ErrSecret), errors.Is(err, dns.ErrKeyAlg):
		return fmt.Errorf("%s: %w: the answer from %s does not verify with key %s (%v)", what, ErrAuth, e.server, e.key, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%s: %w %s: %v", what, ErrUnreachable, e.server, err)
	}
	return fmt.Errorf("%s: exchange with the primary %s: %w", what, e.server, err)
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}
