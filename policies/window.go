package policies

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// span is a parsed Span. Times are compared as local wall-clock times of
// the span's zone, so that a daylight-saving change does not move a freeze:
// "Fri 16:00 Europe/London" is 16:00 on the clocks in London, summer or
// winter.
type span struct {
	weekly bool
	// Weekly: offsets from Monday 00:00; from > to wraps over the week end.
	fromOff, toOff time.Duration
	// One-off: the wall-clock times, written as UTC times.
	fromWall, toWall time.Time

	loc  *time.Location
	zone string // the zone as configured, for people
	end  string // To, normalized, for people
}

const oneOffLayout = "2006-01-02 15:04"

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// contains reports whether now is inside the span: from inclusive, to
// exclusive. (On the night clocks go back, a weekly boundary inside the
// repeated hour is crossed twice; the freeze then ends at the later one.)
func (s span) contains(now time.Time) bool {
	t := now.In(s.loc)
	if s.weekly {
		off := weekOffset(t)
		if s.fromOff < s.toOff {
			return off >= s.fromOff && off < s.toOff
		}
		return off >= s.fromOff || off < s.toOff
	}
	w := wallClock(t)
	return !w.Before(s.fromWall) && w.Before(s.toWall)
}

// until says when the span ends, in its zone: "Mon 08:00 Europe/London".
func (s span) until() string { return s.end + " " + s.zone }

// weekOffset is how far t's wall clock is past Monday 00:00.
func weekOffset(t time.Time) time.Duration {
	day := (int(t.Weekday()) + 6) % 7
	return time.Duration(day)*24*time.Hour +
		time.Duration(t.Hour())*time.Hour +
		time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second +
		time.Duration(t.Nanosecond())
}

// wallClock returns t's wall-clock reading as a UTC time, for comparing
// readings without zone arithmetic.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// parseSpan checks s and reports problems under path (e.g. "windows[0].deny").
func parseSpan(c *checker, path string, s Span) (span, bool) {
	sp := span{zone: s.TZ, loc: time.UTC}
	ok := true
	switch {
	case s.TZ == "":
		sp.zone = "UTC"
	case s.TZ == "Local":
		c.add(path+".tz", `"Local" depends on the machine; name a zone such as Europe/London`)
		ok = false
	default:
		loc, err := time.LoadLocation(s.TZ)
		if err != nil {
			c.add(path+".tz", fmt.Sprintf("unknown time zone %q", s.TZ))
			ok = false
		} else {
			sp.loc = loc
		}
	}

	from, fromOK := parsePoint(c, path+".from", s.From)
	to, toOK := parsePoint(c, path+".to", s.To)
	if !fromOK || !toOK {
		return sp, false
	}
	if from.weekly != to.weekly {
		c.add(path, `from and to must both be weekly ("Fri 16:00") or both dates ("2026-12-24 00:00")`)
		return sp, false
	}
	sp.weekly = from.weekly
	sp.end = to.text
	if sp.weekly {
		sp.fromOff, sp.toOff = from.off, to.off
		if from.off == to.off {
			c.add(path, fmt.Sprintf("from and to are the same time (%s)", from.text))
			return sp, false
		}
	} else {
		sp.fromWall, sp.toWall = from.wall, to.wall
		if !to.wall.After(from.wall) {
			c.add(path, fmt.Sprintf("to (%s) is not after from (%s)", to.text, from.text))
			return sp, false
		}
	}
	return sp, ok
}

// point is one end of a span.
type point struct {
	weekly bool
	off    time.Duration // weekly
	wall   time.Time     // one-off
	text   string        // normalized, e.g. "Mon 08:00"
}

// parsePoint parses "Fri 16:00" (weekday Mon..Sun, any case) or
// "2026-12-24 00:00".
func parsePoint(c *checker, path, s string) (point, bool) {
	fields := strings.Fields(s)
	bad := func() (point, bool) {
		c.add(path, fmt.Sprintf(`cannot parse %q (want a weekday and time, "Fri 16:00", or a date and time, "2026-12-24 00:00")`, s))
		return point{}, false
	}
	if len(fields) != 2 {
		return bad()
	}
	for i, day := range weekdays {
		if !strings.EqualFold(fields[0], day) {
			continue
		}
		clock, ok := parseClock(fields[1])
		if !ok {
			return bad()
		}
		return point{
			weekly: true,
			off:    time.Duration(i)*24*time.Hour + clock,
			text:   fmt.Sprintf("%s %02d:%02d", day, int(clock.Hours()), int(clock.Minutes())%60),
		}, true
	}
	t, err := time.Parse(oneOffLayout, fields[0]+" "+fields[1])
	if err != nil {
		return bad()
	}
	return point{wall: t, text: t.Format(oneOffLayout)}, true
}

// parseClock parses "H:MM" or "HH:MM", 00:00 to 23:59.
func parseClock(s string) (time.Duration, bool) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-' {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}
