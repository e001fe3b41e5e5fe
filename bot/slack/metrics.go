package slack

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the adapter's Prometheus metrics.
type Metrics struct {
	calls *prometheus.CounterVec
	acks  *prometheus.HistogramVec
	up    prometheus.GaugeFunc
	// connected is what countersign_slack_connected reads at each scrape:
	// the adapter's Connected, the one answer /healthz gives too.
	connected atomic.Pointer[func() bool]
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_slack_api_calls_total",
			Help: "Slack Web API calls by method and result (ok, rate_limited, failed, error_<slack error>).",
		}, []string{"method", "result"}),
		acks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "countersign_slack_ack_seconds",
			Help:    "Time from receiving a Slack command or interaction to acknowledging it.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
		}, []string{"mode", "kind"}),
	}
	m.up = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "countersign_slack_connected",
		Help: "1 while the Slack connection (Socket Mode, or the last Web API call) is up.",
	}, func() float64 {
		if f := m.connected.Load(); f != nil && (*f)() {
			return 1
		}
		return 0
	})
	if reg != nil {
		reg.MustRegister(m.calls, m.acks, m.up)
	}
	return m
}

func (m *Metrics) call(method, result string) { m.calls.WithLabelValues(method, result).Inc() }

func (m *Metrics) ack(mode, kind string, d time.Duration) {
	m.acks.WithLabelValues(mode, kind).Observe(d.Seconds())
}

// watch makes countersign_slack_connected report connected.
func (m *Metrics) watch(connected func() bool) { m.connected.Store(&connected) }
