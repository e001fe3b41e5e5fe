package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countersign/countersign/bot"
)

var driftDesc = prometheus.NewDesc("countersign_drift",
	"1 while a target differs from what the bot last approved and carried out, 0 when it matches; absent until checked or while unknown.",
	[]string{"target"}, nil)

// driftCollector exports the bot's drift state at scrape time.
type driftCollector struct {
	drift func() map[string]bot.DriftView
}

func (c driftCollector) Describe(ch chan<- *prometheus.Desc) { ch <- driftDesc }

func (c driftCollector) Collect(ch chan<- prometheus.Metric) {
	for target, v := range c.drift() {
		if v.Expected == "" && !v.Drifted {
			continue // never read: nothing known
		}
		n := 0.0
		if v.Drifted {
			n = 1
		}
		ch <- prometheus.MustNewConstMetric(driftDesc, prometheus.GaugeValue, n, target)
	}
}
