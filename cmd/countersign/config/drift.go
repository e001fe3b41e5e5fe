package config

import "time"

// DefaultDriftInterval is how often targets are checked for drift when
// drift.interval is not set.
const DefaultDriftInterval = 10 * time.Minute

// Drift configures drift detection: comparing every target with what the
// bot last approved and carried out.
type Drift struct {
	// Interval is the time between checks (default 10m); 0 turns drift
	// detection off.
	Interval time.Duration
}

// drift reads the drift section: interval is a duration, or 0 for off.
func (d *decoder) drift(o *object) Drift {
	defer o.Done()
	switch o.Str("interval") {
	case "":
		return Drift{Interval: DefaultDriftInterval}
	case "0":
		return Drift{}
	}
	v, _ := o.Duration("interval")
	return Drift{Interval: v}
}
