package countersign

import (
	"bytes"
	"testing"
)

// FuzzIsCanonical: whatever isCanonical accepts, canonicalJSON leaves as
// it is, so Seal and DetailJSON may skip it.
func FuzzIsCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `{"a":1,"b":[true,false,null,"x"]}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`,
		`-0.5e+10`, `"é ✓"`, `"<&>"`, `{"a":{"b":{}}}`, `1.`, `01`, `{"a" :1}`, `"\u2028"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !isCanonical(b) {
			return
		}
		c, err := canonicalJSON(b)
		if err != nil || !bytes.Equal(c, b) {
			t.Fatalf("isCanonical(%q), but canonicalJSON gives %q, %v", b, c, err)
		}
	})
}

func TestIsCanonical(t *testing.T) {
	for s, want := range map[string]bool{
		`{"a":1,"b":[true,false,null,"x"]}`: true, `{"b":1,"a":2}`: false, `{"a":1,"a":2}`: false,
		`{"a": 1}`: false, `01`: false, `1.`: false, `"<&>"`: true, `{"a":1}x`: false, `"\n"`: false,
	} {
		if got := isCanonical([]byte(s)); got != want {
			t.Errorf("isCanonical(%s) = %v, want %v", s, got, want)
		}
	}
}
