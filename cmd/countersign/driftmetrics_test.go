package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countersign/countersign/bot"
)

func TestDriftCollector_OneGaugePerCheckedTarget(t *testing.T) {
	c := driftCollector{drift: func() map[string]bot.DriftView {
		return map[string]bot.DriftView{
			"api":                {Target: "api", Expected: "image a", Found: "image b", Drifted: true},
			"www":                {Target: "www", Expected: "image c", Found: "image c"},
			"new":                {Target: "new", Unknown: "engine unreachable"}, // never read: no gauge
			"www.example.org. A": {Target: "www.example.org. A", Expected: "A 192.0.2.1 ttl 300", Found: "no records", Drifted: true},
		}
	}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got = append(got, fmt.Sprintf("%s{%s=%q} %g", mf.GetName(), m.GetLabel()[0].GetName(), m.GetLabel()[0].GetValue(), m.GetGauge().GetValue()))
		}
	}
	want := []string{`countersign_drift{target="api"} 1`, `countersign_drift{target="www"} 0`, `countersign_drift{target="www.example.org. A"} 1`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
