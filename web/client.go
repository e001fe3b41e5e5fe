package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request comes from: its TCP peer, or, when
// the peer is one of trusted (a proxy in front of the bot), the address
// the proxies put in X-Forwarded-For. The list is read from the right:
// each trusted proxy appends the address it was reached from, so the
// right-most entry that is not itself a trusted proxy is the client. The
// entries left of it are whatever the client sent, and are ignored.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := remoteIP(r)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop a trusted proxy would not write (an obfuscated
			// identifier, garbage): the last address believed is the
			// nearest one known.
			break
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// remoteIP is the request's TCP peer.
func remoteIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
