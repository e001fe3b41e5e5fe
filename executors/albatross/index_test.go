package albatross

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// sha is a fake binary SHA-256 made of one repeated character.
func sha(c byte) string { return strings.Repeat(string(c), 64) }

// img is a fake image reference whose digest is made of c.
func img(c byte) string {
	return "registry.example.org/mirage/www@sha256:" + strings.Repeat(string(c), 64)
}

func TestIndex_RoundTrip(t *testing.T) {
	x := index{{img('1'), sha('a'), "0123abc"}, {img('2'), sha('b'), ""}}
	got, err := parseIndex(x.String())
	if err != nil || !slices.Equal(got, x) {
		t.Errorf("parseIndex(String()) = %+v, %v; want %+v", got, err, x)
	}
	if !strings.HasPrefix(x.String(), "# countersign") || !strings.Contains(x.String(), sha('b')+" -\n") {
		t.Errorf("String() = %q", x.String())
	}
	// A commit that could break the format is written as unknown.
	if s := (index{{img('1'), sha('a'), "two words"}}).String(); !strings.Contains(s, sha('a')+" -\n") {
		t.Errorf("String() kept a bad commit: %q", s)
	}
}

func TestIndex_ParseRefusesDamage(t *testing.T) {
	for _, s := range []string{
		img('1') + " " + sha('a'),
		img('1') + " " + sha('a') + " c extra",
		"registry.example.org/x:latest " + sha('a') + " -",
		img('1') + " " + strings.ToUpper(sha('a')) + " -",
		img('1') + " abc -",
	} {
		if _, err := parseIndex(s + "\n"); !errors.Is(err, ErrBadIndex) {
			t.Errorf("parseIndex(%q) = %v, want ErrBadIndex", s, err)
		}
	}
	if x, err := parseIndex("\n# comment\n\n"); err != nil || len(x) != 0 {
		t.Errorf("blank and comment lines: %+v, %v", x, err)
	}
}

func TestIndex_Lookups(t *testing.T) {
	x := index{{img('1'), sha('a'), ""}, {img('2'), sha('b'), ""}, {img('3'), sha('a'), ""}}
	if e, ok := x.byDigest("sha256:" + strings.Repeat("2", 64)); !ok || e.SHA256 != sha('b') {
		t.Errorf("byDigest = %+v, %v", e, ok)
	}
	// The digest names the content: another repository finds it too.
	if _, ok := x.byDigest("sha256:" + strings.Repeat("9", 64)); ok {
		t.Error("byDigest found an unknown digest")
	}
	if e, ok := x.bySHA(sha('a')); !ok || e.Image != img('3') {
		t.Errorf("bySHA = %+v, want the newest entry", e)
	}
	if e, ok := x.previous(sha('a')); !ok || e.Image != img('2') {
		t.Errorf("previous = %+v, %v; want image 2", e, ok)
	}
	if _, ok := (index{{img('1'), sha('a'), ""}}).previous(sha('a')); ok {
		t.Error("previous found something in a one-image index")
	}
	got := x.touch(entry{img('1'), sha('a'), "c"})
	if want := (index{{img('2'), sha('b'), ""}, {img('3'), sha('a'), ""}, {img('1'), sha('a'), "c"}}); !slices.Equal(got, want) {
		t.Errorf("touch = %+v, want %+v", got, want)
	}
	if x[0].Image != img('1') || len(x) != 3 {
		t.Error("touch changed its receiver")
	}
}

func TestIndex_Prune(t *testing.T) {
	x := index{{img('1'), sha('a'), ""}, {img('2'), sha('b'), ""}, {img('3'), sha('c'), ""}, {img('4'), sha('d'), ""}, {img('5'), sha('c'), ""}}
	for _, tc := range []struct {
		name     string
		keep     int
		protect  []string
		wantKeep []string // images kept
		wantDrop []string
	}{
		{"keep all", 10, nil, []string{img('1'), img('2'), img('3'), img('4'), img('5')}, nil},
		{"keep two binaries", 2, nil, []string{img('3'), img('4'), img('5')}, []string{sha('a'), sha('b')}},
		{"protected old binary survives", 2, []string{sha('c'), sha('a')}, []string{img('1'), img('3'), img('4'), img('5')}, []string{sha('b')}},
		{"keep one still keeps running and previous", 1, []string{sha('c'), sha('d')}, []string{img('3'), img('4'), img('5')}, []string{sha('a'), sha('b')}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept, drop := x.prune(tc.keep, tc.protect...)
			var images []string
			for _, e := range kept {
				images = append(images, e.Image)
			}
			if !slices.Equal(images, tc.wantKeep) || !slices.Equal(drop, tc.wantDrop) {
				t.Errorf("prune = %q, drop %q; want %q, drop %q", images, drop, tc.wantKeep, tc.wantDrop)
			}
		})
	}
}
