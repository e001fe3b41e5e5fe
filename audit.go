package countersign

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// EventKind is the kind of an audit record. The names are a fixed interface
// (exports and the tools that read them match on them): add kinds, never
// rename them.
type EventKind string

const (
	EventConfigLoaded         EventKind = "config.loaded"
	EventWebhookReceived      EventKind = "webhook.received"
	EventWebhookRefused       EventKind = "webhook.refused"
	EventChatRefused          EventKind = "chat.refused"
	EventRequestCreated       EventKind = "request.created"
	EventRequestRefused       EventKind = "request.refused"
	EventApprovalRequested    EventKind = "approval.requested"
	EventApprovalGranted      EventKind = "approval.granted"
	EventApprovalRefused      EventKind = "approval.refused"
	EventRequestDenied        EventKind = "request.denied"
	EventRequestExpired       EventKind = "request.expired"
	EventRequestSuperseded    EventKind = "request.superseded"
	EventExecutionStarted     EventKind = "execution.started"
	EventExecutionStep        EventKind = "execution.step"
	EventExecutionSucceeded   EventKind = "execution.succeeded"
	EventExecutionFailed      EventKind = "execution.failed"
	EventExecutionInterrupted EventKind = "execution.interrupted"
	// Verification probes a deployed service's URL after a deploy
	// succeeded (its service's verify: key); cancelled means a newer
	// deploy of the target was approved, or the bot stopped, before it
	// ended.
	EventVerificationStarted   EventKind = "verification.started"
	EventVerificationPassed    EventKind = "verification.passed"
	EventVerificationFailed    EventKind = "verification.failed"
	EventVerificationCancelled EventKind = "verification.cancelled"
	EventLockSet               EventKind = "lock.set"
	EventLockReleased          EventKind = "lock.released"
	// EventWebRefused is a failed sign-in to the web pages, /audit/export
	// or /backup (a wrong token, a user header from an address that is
	// not a trusted proxy, a sign-in form sent from another site);
	// EventWebSignedIn a sign-in through the login form.
	EventWebRefused  EventKind = "web.refused"
	EventWebSignedIn EventKind = "web.signed_in"
	// EventOutboxAbandoned is a chat message or GitHub report the bot
	// gave up on: refused for good, or failing for too long. It is kept
	// aside (`countersign outbox list`), not delivered.
	EventOutboxAbandoned EventKind = "outbox.abandoned"
	// EventPushReconciled is a branch head read from GitHub that no
	// webhook had delivered, taken as the push it was.
	EventPushReconciled EventKind = "push.reconciled"
	// EventDriftDetected is a target found other than the bot last
	// approved and carried out (detail: expected, found); it is written
	// again only when what is found changes. EventDriftCleared is the
	// target matching again.
	EventDriftDetected EventKind = "drift.detected"
	EventDriftCleared  EventKind = "drift.cleared"
	// EventCheckStarted, EventCheckSucceeded and EventCheckFailed are a
	// pull request's deployability check (target the service; detail
	// the pull request number, SHA, and the image or the reason).
	EventCheckStarted   EventKind = "check.started"
	EventCheckSucceeded EventKind = "check.succeeded"
	EventCheckFailed    EventKind = "check.failed"
	// EventConfigProposed is a reloaded config that loosens the rules,
	// waiting as a policy request (detail: hash, previous_hash, changes,
	// the config with secrets redacted). EventConfigLoaded records a
	// reload that took effect too, with previous_hash.
	EventConfigProposed EventKind = "config.proposed"
	// EventGateRequested is a GitHub deployment protection rule's
	// delivery taken as a request (detail: the deployment's ID, ref,
	// SHA and the workflow run's ID); EventGateAnswered is the request's
	// outcome answered to GitHub (detail: state and comment).
	EventGateRequested EventKind = "gate.requested"
	EventGateAnswered  EventKind = "gate.answered"
)

// EventKinds lists every kind, in the order a request meets them.
func EventKinds() []EventKind {
	return []EventKind{
		EventConfigLoaded, EventWebhookReceived, EventWebhookRefused, EventChatRefused,
		EventRequestCreated, EventRequestRefused, EventApprovalRequested, EventApprovalGranted,
		EventApprovalRefused, EventRequestDenied, EventRequestExpired, EventRequestSuperseded,
		EventExecutionStarted, EventExecutionStep, EventExecutionSucceeded, EventExecutionFailed,
		EventExecutionInterrupted, EventVerificationStarted, EventVerificationPassed,
		EventVerificationFailed, EventVerificationCancelled, EventLockSet, EventLockReleased, EventWebRefused, EventWebSignedIn,
		EventOutboxAbandoned, EventPushReconciled, EventDriftDetected, EventDriftCleared,
		EventCheckStarted, EventCheckSucceeded, EventCheckFailed,
		EventConfigProposed,
		EventGateRequested, EventGateAnswered,
	}
}

// Event is one audit record. Its JSON form (see Canonical) is the line that
// `audit export` writes and the bytes the chain hashes.
type Event struct {
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    EventKind       `json:"kind"`
	Actor   Actor           `json:"actor"`
	Request RequestID       `json:"request,omitempty"`
	Action  ActionKind      `json:"action,omitempty"`
	Target  string          `json:"target,omitempty"`
	Detail  json.RawMessage `json:"detail"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`
}

// GenesisHash is the Prev of the first record: 32 zero bytes in hex.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is how record times are written: UTC, microseconds.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// DetailJSON marshals v for Event.Detail. Maps come out with sorted keys,
// so the encoding is canonical.
func DetailJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal audit detail: %w", err)
	}
	if isCanonical(b) {
		return b, nil
	}
	return canonicalJSON(b)
}

// canonicalJSON re-encodes b with sorted object keys and no insignificant
// white space; numbers keep their text.
func canonicalJSON(b []byte) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical detail: %w", err)
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical detail: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// recordBody is the hashed part of a record: everything but the hash, in a
// fixed field order, with prev last.
type recordBody struct {
	Seq     uint64          `json:"seq"`
	Time    string          `json:"time"`
	Kind    EventKind       `json:"kind"`
	Actor   Actor           `json:"actor"`
	Request RequestID       `json:"request,omitempty"`
	Action  ActionKind      `json:"action,omitempty"`
	Target  string          `json:"target,omitempty"`
	Detail  json.RawMessage `json:"detail"`
	Prev    string          `json:"prev"`
}

// Seal sets e.Seq, e.Prev and e.Hash for appending after a record with
// sequence number seq-1 and hash prev, and returns the canonical line (no
// newline) to store and export. The time is cut to microseconds, in UTC.
func (e *Event) Seal(seq uint64, prev string) ([]byte, error) {
	e.Seq, e.Prev = seq, prev
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage("{}")
	} else if !isCanonical(e.Detail) {
		d, err := canonicalJSON(e.Detail)
		if err != nil {
			return nil, err
		}
		e.Detail = d
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(recordBody{e.Seq, e.Time.Format(TimeLayout), e.Kind, e.Actor, e.Request, e.Action, e.Target, e.Detail, e.Prev}); err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	body := bytes.TrimRight(buf.Bytes(), "\n")
	sum := sha256.Sum256(body)
	e.Hash = hex.EncodeToString(sum[:])
	line := make([]byte, 0, len(body)+len(hashSuffixStart)+64+2)
	line = append(line, body[:len(body)-1]...)
	line = append(line, hashSuffixStart...)
	line = append(line, e.Hash...)
	line = append(line, '"', '}')
	return line, nil
}

const hashSuffixStart = `,"hash":"`

// ParseEvent decodes one canonical line.
func ParseEvent(line []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return Event{}, fmt.Errorf("decode audit record: %w", err)
	}
	return e, nil
}

// ErrChainBroken is wrapped by every ChainError.
var ErrChainBroken = errors.New("audit chain broken")

// ChainError says which record broke the chain and how.
type ChainError struct {
	Index  uint64 // 1-based position in the stream
	Seq    uint64 // the record's own seq, if it could be read
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("record %d (seq %d): %s", e.Index, e.Seq, e.Reason)
}

func (e *ChainError) Unwrap() error { return ErrChainBroken }

// Verifier checks a stream of canonical lines, in order, against the
// chain. Feed every line to Next (or many at once to NextLines); a
// *ChainError names the first bad one. The zero value expects the first
// record of the trail. It reuses its hashing buffers, so one Verifier
// serves one goroutine (NextLines spreads the hashing itself).
type Verifier struct {
	count  uint64
	head   [64]byte   // the hash of record count, when count > 0
	sound  []bool     // NextLines' per-line results, reused
	hasher lineHasher // Next's
}

// Count is the number of records verified so far.
func (v *Verifier) Count() uint64 { return v.count }

// Head is the hash of the last verified record (GenesisHash if none).
func (v *Verifier) Head() string {
	if v.count == 0 {
		return GenesisHash
	}
	return string(v.head[:])
}

// headBytes is Head without a copy.
func (v *Verifier) headBytes() []byte {
	if v.count == 0 {
		return []byte(GenesisHash)
	}
	return v.head[:]
}

// prevSuffixLen is the length of `,"prev":"<64 hex>","hash":"<64 hex>"}`.
const prevSuffixLen = len(`,"prev":"`) + 64 + len(`","hash":"`) + 64 + len(`"}`)

// Next verifies the next line. It needs no JSON decoding: a canonical line
// begins with {"seq":N, and ends with the prev and hash fields, so it can
// check a million records in a second or two.
func (v *Verifier) Next(line []byte) error {
	idx := v.count + 1
	bad := func(seq uint64, format string, args ...any) error {
		return &ChainError{Index: idx, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	const seqPrefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(seqPrefix)) || len(line) < len(seqPrefix)+prevSuffixLen {
		return bad(0, "not a canonical audit record")
	}
	rest := line[len(seqPrefix):]
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return bad(0, "not a canonical audit record")
	}
	seq, err := strconv.ParseUint(string(rest[:comma]), 10, 64)
	if err != nil {
		return bad(0, "bad seq %q", rest[:comma])
	}
	prev, hash, ok := lineLinks(line)
	if !ok {
		return bad(seq, "not a canonical audit record (prev and hash must come last)")
	}
	if seq != idx {
		switch {
		case seq > idx:
			return bad(seq, "expected seq %d: records %d..%d are missing (deleted) or out of order", idx, idx, seq-1)
		default:
			return bad(seq, "expected seq %d: record is out of order or inserted", idx)
		}
	}
	if !bytes.Equal(prev, v.headBytes()) {
		return bad(seq, "prev %s… does not match the hash of the record before it (%s…): a record before it was changed, removed, inserted or reordered", prev[:12], v.headBytes()[:12])
	}
	if !v.hasher.matches(line) {
		return bad(seq, "hash does not match the record's contents: the record was edited")
	}
	v.count++
	copy(v.head[:], hash)
	return nil
}

// lineLinks returns the prev and hash fields of a line, which a
// canonical line ends with; ok is false when it does not.
func lineLinks(line []byte) (prev, hash []byte, ok bool) {
	if len(line) < prevSuffixLen {
		return nil, nil, false
	}
	tail := line[len(line)-prevSuffixLen:]
	if string(tail[:9]) != `,"prev":"` || string(tail[9+64:9+64+10]) != `","hash":"` ||
		string(tail[prevSuffixLen-2:]) != `"}` {
		return nil, nil, false
	}
	return tail[9 : 9+64], tail[9+64+10 : 9+64+10+64], true
}

// lineHasher checks the hash fields of lines with one SHA-256 it
// reuses; the zero value is ready. One goroutine at a time.
type lineHasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// matches reports whether the hash field of line, which ends with
// `,"hash":"<64 hex>"}`, is the hex SHA-256 of the rest: the line without
// that field and with its closing brace. It hashes the line where it is,
// and allocates nothing once it has its SHA-256.
func (lh *lineHasher) matches(line []byte) bool {
	cut := len(line) - (len(hashSuffixStart) + 64 + 2)
	if cut < 0 {
		return false
	}
	if lh.h == nil {
		lh.h = sha256.New()
	}
	lh.h.Reset()
	lh.h.Write(line[:cut])
	lh.h.Write(closingBrace)
	lh.h.Sum(lh.sum[:0])
	return isHex(lh.sum[:], line[cut+len(hashSuffixStart):len(line)-2])
}

var closingBrace = []byte("}")

// isHex reports whether text is sum in lower-case hex, as hex.Encode
// writes it; it compares four bytes of sum at a time, without encoding
// the whole of it first.
func isHex(sum, text []byte) bool {
	if len(text) != 2*len(sum) || len(sum)%4 != 0 {
		return false
	}
	var diff uint64
	for len(sum) >= 4 {
		want := uint64(hexPairs[sum[0]]) | uint64(hexPairs[sum[1]])<<16 |
			uint64(hexPairs[sum[2]])<<32 | uint64(hexPairs[sum[3]])<<48
		diff |= want ^ binary.LittleEndian.Uint64(text)
		sum, text = sum[4:], text[8:]
	}
	return diff == 0
}

// hexPairs holds the two hex digits of each byte, the first in the low
// byte, so that a little-endian load of the text compares with them.
var hexPairs = func() (t [256]uint16) {
	const digits = "0123456789abcdef"
	for b := range t {
		t[b] = uint16(digits[b>>4]) | uint16(digits[b&15])<<8
	}
	return t
}()
