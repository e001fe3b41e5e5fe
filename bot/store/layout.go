package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// The file holds these top-level buckets. Numbers in keys are 8-byte
// big-endian, so that byte order is numeric order.
//
//	requests            request number → JSON cs.Request
//	requests_open       request number → target, for requests whose state is open
//	locks               target → JSON cs.Lock
//	deployments         target 0x00 request number → JSON cs.Deployment
//	deliveries          GitHub delivery ID → time seen (unix ns)
//	deliveries_by_time  time seen (unix ns) ID → empty, to prune old deliveries
//	payloads            digest of a verified webhook payload → JSON bot.PayloadSeen
//	payloads_by_time    time first seen (unix ns) digest → empty, to prune old payloads
//	audit               seq → the canonical line from cs.Event.Seal, byte for byte
//	audit_by_target     target 0x00 seq → empty
//	audit_by_actor      actor 0x00 seq → empty
//	audit_by_request    request ID 0x00 seq → empty
//	audit_unindexed     seq → target, actor and request of a record not yet in
//	                    the three indexes above (index.go)
//	outbox              seq → JSON bot.Outgoing: chat messages not yet delivered
//	outbox_aside        seq → JSON bot.Aside: entries the outbox gave up on, the
//	                    newest 1000
//	messages            local message ID → JSON cs.MessageRef where the chat put it
//	pushes              service 0x00 commit SHA → JSON bot.PushRecord
//	heads               bot.HeadKey(repo, branch) → JSON bot.BranchHead
//	meta                "audit.head" → seq, hex hash of the last record
//	                    "request.last" → the last request number handed out
var (
	bucketRequests       = []byte("requests")
	bucketOpenRequests   = []byte("requests_open")
	bucketLocks          = []byte("locks")
	bucketDeployments    = []byte("deployments")
	bucketDeliveries     = []byte("deliveries")
	bucketDeliveryTimes  = []byte("deliveries_by_time")
	bucketPayloads       = []byte("payloads")
	bucketPayloadTimes   = []byte("payloads_by_time")
	bucketAudit          = []byte("audit")
	bucketAuditTarget    = []byte("audit_by_target")
	bucketAuditActor     = []byte("audit_by_actor")
	bucketAuditRequest   = []byte("audit_by_request")
	bucketAuditUnindexed = []byte("audit_unindexed")
	bucketMeta           = []byte("meta")
	bucketOutbox         = []byte("outbox")
	bucketAside          = []byte("outbox_aside")
	bucketMessages       = []byte("messages")
	bucketPushes         = []byte("pushes")
	bucketHeads          = []byte("heads")

	allBuckets = [][]byte{
		bucketRequests, bucketOpenRequests, bucketLocks, bucketDeployments,
		bucketDeliveries, bucketDeliveryTimes, bucketAudit, bucketAuditTarget,
		bucketAuditActor, bucketAuditRequest, bucketAuditUnindexed, bucketMeta,
		bucketOutbox, bucketAside, bucketMessages, bucketPushes, bucketPayloads, bucketPayloadTimes,
		bucketHeads,
	}

	metaAuditHead   = []byte("audit.head")
	metaRequestLast = []byte("request.last")
)

// u64Key encodes n as a fresh 8-byte key. bbolt keeps references to keys
// and values until the transaction ends, so keys are never reused.
func u64Key(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}

// prefixKey returns name 0x00 n: a key in a per-name range ordered by n.
func prefixKey(name string, n uint64) []byte {
	k := make([]byte, 0, len(name)+9)
	k = append(k, name...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, n)
}

// rangeOf returns the prefix shared by every prefixKey(name, …) and the
// first key after all of them.
func rangeOf(name string) (prefix, end []byte) {
	prefix = append(append(make([]byte, 0, len(name)+1), name...), 0)
	end = append(append(make([]byte, 0, len(name)+1), name...), 1)
	return prefix, end
}

// prefixNumber returns the n of a key in prefix's range. ok is false for
// a key of another name that merely begins with prefix (a name holding
// 0x00), which must be skipped.
func prefixNumber(prefix, key []byte) (n uint64, ok bool) {
	if len(key) != len(prefix)+8 || !bytes.HasPrefix(key, prefix) {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[len(prefix):]), true
}

// errCorruptHead is wrapped when meta's audit head cannot be decoded.
var errCorruptHead = errors.New("audit head in meta is corrupt")

// encodeHead is the meta value for the chain's last record.
func encodeHead(seq uint64, hash string) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(hash)), seq)
	return append(v, hash...)
}

// decodeHead reverses encodeHead; a nil v is the empty chain.
func decodeHead(v []byte) (seq uint64, hash string, err error) {
	if v == nil {
		return 0, "", nil
	}
	if len(v) != 8+64 {
		return 0, "", fmt.Errorf("%w: %d bytes", errCorruptHead, len(v))
	}
	return binary.BigEndian.Uint64(v), string(v[8:]), nil
}

// lineSeq reads the seq of a canonical line without decoding it: lines
// begin with {"seq":N, (see cs.Event.Seal). ok is false otherwise.
func lineSeq(line []byte) (seq uint64, ok bool) {
	const p = `{"seq":`
	if !bytes.HasPrefix(line, []byte(p)) {
		return 0, false
	}
	rest := line[len(p):]
	i := bytes.IndexByte(rest, ',')
	if i < 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	return seq, err == nil
}
