package config

import (
	"encoding/base64"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// tsigAlgorithms are the TSIG algorithms accepted.
var tsigAlgorithms = map[string]bool{"hmac-sha256": true, "hmac-sha512": true}

// zones decodes the dns list.
func (d *decoder) zones(parent *object, key string) []Zone {
	var out []Zone
	seen := map[string]string{}
	for i, n := range parent.List(key) {
		p := strictyaml.Item(parent.Sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		z := d.zone(o)
		if z.Zone != "" {
			if first, dup := seen[z.Zone]; dup {
				d.AddAt(o.Sub("zone"), "duplicate zone %s (also %s)", strictyaml.Quote(z.Zone), first)
			} else {
				seen[z.Zone] = p
			}
		}
		o.Done()
		out = append(out, z)
	}
	return out
}

func (d *decoder) zone(o *object) Zone {
	o.Require("zone", "server", "tsig_key")
	z := Zone{
		Zone:          o.Str("zone"),
		Server:        o.Str("server"),
		TSIGKey:       o.Str("tsig_key"),
		TSIGAlgorithm: strings.ToLower(strings.TrimSuffix(o.Str("tsig_algorithm"), ".")),
		TSIGSecret:    o.token("tsig_secret", nil),
	}
	if z.Zone != "" {
		name, ok := normalDNSName(z.Zone)
		if !ok {
			d.AddAt(o.Sub("zone"), "not a valid DNS name: %s", strictyaml.Quote(z.Zone))
		}
		z.Zone = name
	}
	if z.Server != "" {
		if hp, ok := hostPort(z.Server, "53"); ok {
			z.Server = hp
		} else {
			d.AddAt(o.Sub("server"), "want host[:port], got %s", strictyaml.Quote(z.Server))
		}
	}
	if z.TSIGKey != "" {
		name, ok := normalDNSName(z.TSIGKey)
		if !ok {
			d.AddAt(o.Sub("tsig_key"), "not a valid TSIG key name (a DNS name): %s", strictyaml.Quote(z.TSIGKey))
		}
		z.TSIGKey = name + "."
	}
	switch {
	case z.TSIGAlgorithm == "":
		z.TSIGAlgorithm = DefaultTSIGAlgorithm
	case !tsigAlgorithms[z.TSIGAlgorithm]:
		d.AddAt(o.Sub("tsig_algorithm"), "want hmac-sha256 or hmac-sha512, got %s", strictyaml.Quote(z.TSIGAlgorithm))
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
		given = given || o.Has(f)
	}
	if !given {
		d.Add(o.line, o.Sub("tsig_secret"), "required (give tsig_secret, tsig_secret_file or tsig_secret_env)")
		return
	}
	if z.TSIGSecret.IsZero() || d.unread(z.TSIGSecret) {
		return // already reported, or not read
	}
	if _, err := base64.StdEncoding.DecodeString(z.TSIGSecret.Reveal()); err != nil {
		for _, f := range forms {
			if o.Has(f) {
				d.AddAt(o.Sub(f), "the TSIG secret is not valid base64")
			}
		}
	}
}

// zoneTypes reads the record types a zone allows, upper case: some of
// cs.DNSTypes(), by default cs.DefaultDNSTypes().
func (d *decoder) zoneTypes(o *object) []string {
	if !o.Has("types") {
		o.Get("types")
		return cs.DefaultDNSTypes()
	}
	types := o.Strs("types")
	seen := map[string]bool{}
	for i, t := range types {
		t = strings.ToUpper(t)
		types[i] = t
		switch {
		case !cs.ValidDNSType(t):
			d.AddAt(strictyaml.Item(o.Sub("types"), i), "unknown record type %s (known: %s)", strictyaml.Quote(t), strings.Join(slices.Sorted(slices.Values(cs.DNSTypes())), ", "))
		case seen[t]:
			d.AddAt(strictyaml.Item(o.Sub("types"), i), "duplicate type %s", strictyaml.Quote(t))
		}
		seen[t] = true
	}
	return types
}
