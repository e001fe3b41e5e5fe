package config

import (
	"encoding/base64"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
)

// tsigAlgorithms are the TSIG algorithms accepted.
var tsigAlgorithms = map[string]bool{"hmac-sha256": true, "hmac-sha512": true}

// zones decodes the dns list.
func (d *decoder) zones(parent *object, key string) []Zone {
	var out []Zone
	seen := map[string]string{}
	for i, n := range parent.list(key) {
		p := item(parent.sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		z := d.zone(o)
		if z.Zone != "" {
			if first, dup := seen[z.Zone]; dup {
				d.addAt(o.sub("zone"), "duplicate zone %s (also %s)", quote(z.Zone), first)
			} else {
				seen[z.Zone] = p
			}
		}
		o.done()
		out = append(out, z)
	}
	return out
}

func (d *decoder) zone(o *object) Zone {
	o.require("zone", "server", "tsig_key")
	z := Zone{
		Zone:          o.str("zone"),
		Server:        o.str("server"),
		TSIGKey:       o.str("tsig_key"),
		TSIGAlgorithm: strings.ToLower(strings.TrimSuffix(o.str("tsig_algorithm"), ".")),
		TSIGSecret:    o.token("tsig_secret", nil),
	}
	if z.Zone != "" {
		name, ok := normalDNSName(z.Zone)
		if !ok {
			d.addAt(o.sub("zone"), "not a valid DNS name: %s", quote(z.Zone))
		}
		z.Zone = name
	}
	if z.Server != "" {
		if hp, ok := hostPort(z.Server, "53"); ok {
			z.Server = hp
		} else {
			d.addAt(o.sub("server"), "want host[:port], got %s", quote(z.Server))
		}
	}
	if z.TSIGKey != "" {
		name, ok := normalDNSName(z.TSIGKey)
		if !ok {
			d.addAt(o.sub("tsig_key"), "not a valid TSIG key name (a DNS name): %s", quote(z.TSIGKey))
		}
		z.TSIGKey = name + "."
	}
	switch {
	case z.TSIGAlgorithm == "":
		z.TSIGAlgorithm = DefaultTSIGAlgorithm
	case !tsigAlgorithms[z.TSIGAlgorithm]:
		d.addAt(o.sub("tsig_algorithm"), "want hmac-sha256 or hmac-sha512, got %s", quote(z.TSIGAlgorithm))
	}
	d.tsigSecret(o, z)
	z.Types = d.zoneTypes(o)
	return z
}

// tsigSecret requires the secret and checks it is base64, as TSIG
// secrets are written, without ever showing it.
func (d *decoder) tsigSecret(o *object, z Zone) {
	forms := []string{"tsig_secret", "tsig_secret_file", "tsig_secret_env"}
	given := false
	for _, f := range forms {
		given = given || o.has(f)
	}
	if !given {
		d.add(o.line, o.sub("tsig_secret"), "required (give tsig_secret, tsig_secret_file or tsig_secret_env)")
		return
	}
	if z.TSIGSecret.IsZero() || d.unread(z.TSIGSecret) {
		return // already reported, or not read
	}
	if _, err := base64.StdEncoding.DecodeString(z.TSIGSecret.Reveal()); err != nil {
		for _, f := range forms {
			if o.has(f) {
				d.addAt(o.sub(f), "the TSIG secret is not valid base64")
			}
		}
	}
}

// zoneTypes reads the record types a zone allows, upper case: some of
// cs.DNSTypes(), by default cs.DefaultDNSTypes().
func (d *decoder) zoneTypes(o *object) []string {
	if !o.has("types") {
		o.get("types")
		return cs.DefaultDNSTypes()
	}
	types := o.strs("types")
	seen := map[string]bool{}
	for i, t := range types {
		t = strings.ToUpper(t)
		types[i] = t
		switch {
		case !cs.ValidDNSType(t):
			d.addAt(item(o.sub("types"), i), "unknown record type %s (known: %s)", quote(t), strings.Join(slices.Sorted(slices.Values(cs.DNSTypes())), ", "))
		case seen[t]:
			d.addAt(item(o.sub("types"), i), "duplicate type %s", quote(t))
		}
		seen[t] = true
	}
	return types
}
