package strictyaml

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// decode reads src's top mapping with read, calls Done on it, and returns
// every problem as `PATH: message`, in file order.
func decode(t *testing.T, src string, read func(d *Decoder, m *Mapping)) []string {
	t.Helper()
	d := NewDecoder()
	top := d.Document([]byte(src))
	if top == nil {
		t.Fatalf("no document: %v", d.Problems())
	}
	m := d.Mapping(top, "")
	read(d, m)
	m.Done()
	return lines(d.Problems())
}

func lines(ps []Problem) []string {
	SortByLine(ps)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDocument(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "the file is empty"},
		{"only comments", "# nothing\n", "the file is empty"},
		{"null", "~\n", "the file is empty"},
		{"syntax", "a: 1\nb:\n  c: x\n   d: y\n", "line 4: YAML syntax: mapping values are not allowed in this context"},
		{"two documents", "a: 1\n---\nb: 2\n", "line 2: more than one YAML document"},
		{"a list at the top", "- a\n- b\n", "line 1: want a mapping of keys at the top, got a list"},
		{"a string at the top", "hello\n", "line 1: want a mapping of keys at the top, got a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder()
			if n := d.Document([]byte(tc.src)); n != nil {
				t.Fatalf("got a document, want %q", tc.want)
			}
			checkLines(t, lines(d.Problems()), []string{tc.want})
		})
	}
	d := NewDecoder()
	if n := d.Document([]byte("a: 1\n")); n == nil || len(d.Problems()) != 0 {
		t.Errorf("a one-key mapping: got %v, %v", n, d.Problems())
	}
}

// TestMapping_Keys: unknown keys (with a suggestion when one is near),
// duplicates and keys that are not strings are problems; known keys,
// read or not, are not.
func TestMapping_Keys(t *testing.T) {
	src := "name: a\ncolour: red\nnmae: b\nzzzzzz: 1\nname: c\n? [x]\n: y\nsize: ~\n"
	got := decode(t, src, func(d *Decoder, m *Mapping) {
		m.Str("name")
		m.Has("color")
		m.Has("size")
	})
	checkLines(t, got, []string{
		`colour: unknown key (did you mean "color"?)`,
		`nmae: unknown key (did you mean "name"?)`,
		`zzzzzz: unknown key`,
		`name: duplicate key (first at line 1)`,
		`line 6: keys must be strings, got a list`,
	})
}

// TestMapping_Merges: merge keys share mappings; explicit keys win over
// merged ones, earlier merged mappings over later ones.
func TestMapping_Merges(t *testing.T) {
	src := "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm:\n  <<: [*b, *o]\n  a: 9\nbad:\n  <<: [1]\nworse:\n  <<: x\n"
	var a, b, c int
	got := decode(t, src, func(d *Decoder, m *Mapping) {
		m.Entries()
		mm := m.Mapping("m")
		a, _ = mm.Int("a")
		b, _ = mm.Int("b")
		c, _ = mm.Int("c")
		mm.Done()
		m.Mapping("bad").Done()
		m.Mapping("worse").Done()
	})
	if a != 9 || b != 2 || c != 4 {
		t.Errorf("got a=%d b=%d c=%d, want 9 2 4", a, b, c)
	}
	checkLines(t, got, []string{
		`bad: merge (<<) wants mappings, got a number`,
		`worse: merge (<<) wants a mapping, got a string`,
	})
}

// TestMapping_Require: a required key that is absent is reported at the
// mapping's line (2 here, where the block mapping starts); one that is
// null or empty at its own.
func TestMapping_Require(t *testing.T) {
	src := "m:\n  a: ''\n  b: ~\n  d: x\n"
	got := decode(t, src, func(d *Decoder, m *Mapping) {
		mm := m.Mapping("m")
		mm.Require("a", "b", "c", "d")
		mm.Done()
	})
	checkLines(t, got, []string{"m.a: required", "m.c: required", "m.b: required"})
	d := NewDecoder()
	d.Mapping(d.Document([]byte("m: {}\n")), "").Mapping("m").Require("c")
	if ps := d.Problems(); len(ps) != 1 || ps[0].Line != 1 {
		t.Errorf("absent key: got %+v, want one problem on line 1", ps)
	}
}

// TestTypedReads: each read says what it wanted and what it got, shows
// a scalar (quoted) but never a mapping's or list's contents, and null
// reads as the zero value without a problem.
func TestTypedReads(t *testing.T) {
	src := `s: {a: 1}
n: 1.5
b: "yes"
d1: soon
d2: -1m
d3: 90s
l: x
strs: [a, [b]]
m: [1]
nothing: ~
`
	var d3 time.Duration
	var strs []string
	got := decode(t, src, func(d *Decoder, m *Mapping) {
		m.Str("s")
		m.Int("n")
		m.Bool("b")
		m.Duration("d1")
		m.Duration("d2")
		d3, _ = m.Duration("d3")
		m.List("l")
		strs = m.Strs("strs")
		m.Mapping("m").Done()
		if m.Str("nothing") != "" || m.Bool("nothing") || m.List("nothing") != nil || m.Strs("nothing") != nil {
			t.Error("null did not read as the zero value")
		}
		if _, ok := m.Int("nothing"); ok {
			t.Error("null read as an integer")
		}
		if _, ok := m.Duration("absent"); ok {
			t.Error("an absent duration read as given")
		}
	})
	checkLines(t, got, []string{
		`s: want a string, got a mapping`,
		`n: want an integer, got "1.5"`,
		`b: want true or false, got "yes"`,
		`d1: invalid duration "soon" (want e.g. 30m, 2h)`,
		`d2: duration "-1m" must be positive`,
		`l: want a list, got a string`,
		`strs[1]: want a string, got a list`,
		`m: want a mapping, got a list`,
	})
	if d3 != 90*time.Second || !slices.Equal(strs, []string{"a", ""}) {
		t.Errorf("got d3=%v strs=%q", d3, strs)
	}
}

// TestLines: every key and list item read has its line, for problems
// found after decoding; AddAt and WarnAt use it.
func TestLines(t *testing.T) {
	d := NewDecoder()
	m := d.Mapping(d.Document([]byte("a: x\nlist:\n  - p\n  - q\n")), "")
	m.Str("a")
	m.Strs("list")
	for path, want := range map[string]int{"a": 1, "list": 2, "list[1]": 4} {
		if l, ok := d.Line(path); !ok || l != want {
			t.Errorf("Line(%q) = %d, %v; want %d", path, l, ok, want)
		}
	}
	if _, ok := d.Line("b"); ok {
		t.Error("Line of a key never read")
	}
	d.SetLine("elsewhere", 7)
	d.AddAt("elsewhere", "bad %s", Quote("v"))
	d.WarnAt("list[1]", "careful")
	if got, want := lines(d.Problems()), []string{`elsewhere: bad "v"`}; !slices.Equal(got, want) || d.Problems()[0].Line != 7 {
		t.Errorf("problems: got %v (%+v), want %v on line 7", got, d.Problems(), want)
	}
	if ws := d.Warnings(); len(ws) != 1 || ws[0].Line != 4 || ws[0].String() != "list[1]: careful" {
		t.Errorf("warnings: got %+v", ws)
	}
}

// TestSawKeys: Done tells SawKeys each mapping's path and the keys read
// there, known or not present.
func TestSawKeys(t *testing.T) {
	d := NewDecoder()
	saw := map[string][]string{}
	d.SawKeys = func(path string, known map[string]bool) {
		for k := range known {
			saw[path] = append(saw[path], k)
		}
		slices.Sort(saw[path])
	}
	m := d.Mapping(d.Document([]byte("a: {b: 1}\n")), "")
	inner := m.Mapping("a")
	inner.Int("b")
	inner.Has("c")
	inner.Done()
	m.Done()
	if !slices.Equal(saw[""], []string{"a"}) || !slices.Equal(saw["a"], []string{"b", "c"}) {
		t.Errorf("got %v", saw)
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct{ path, key, want string }{
		{"", "a", "a"},
		{"a", "b_c-d", "a.b_c-d"},
		{"a", "x.y", `a["x.y"]`},
		{"a", "", `a[""]`},
		{"a", "-x", `a["-x"]`},
		{"", strings.Repeat("k", 61), `["` + strings.Repeat("k", 60) + `"… (61 bytes)]`},
	} {
		if got := Child(tc.path, tc.key); got != tc.want {
			t.Errorf("Child(%q, %q) = %s, want %s", tc.path, tc.key, got, tc.want)
		}
	}
	if got := Item("a.b", 3); got != "a.b[3]" {
		t.Errorf("Item = %s", got)
	}
}

func TestProblem_String(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{Path: "a.b", Line: 3, Message: "bad"}, "a.b: bad"},
		{Problem{Line: 3, Message: "bad"}, "line 3: bad"},
		{Problem{Message: "bad"}, "bad"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestSortByLine(t *testing.T) {
	ps := []Problem{{Message: "a"}, {Line: 5, Message: "b"}, {Line: 2, Message: "c"}, {Message: "d"}, {Line: 2, Message: "e"}}
	SortByLine(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.Message)
	}
	if want := []string{"c", "e", "b", "a", "d"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestAdd_Bounded: a long message from elsewhere that quotes the file is
// cut, each quoted string in it as Quote cuts it, the rest at 400 bytes.
func TestAdd_Bounded(t *testing.T) {
	d := NewDecoder()
	huge := strings.Repeat("v", 10000)
	d.Add(1, "p", "%s", fmt.Sprintf("bad value %q here", huge))
	d.Add(2, "p", "%s", strings.Repeat("é", 1000))
	ps := d.Problems()
	if want := `bad value "` + strings.Repeat("v", 60) + `"… (10000 bytes) here`; ps[0].Message != want {
		t.Errorf("quoted: got %.100q…", ps[0].Message)
	}
	if m := ps[1].Message; len(m) > 400+len("… (2000 bytes)") || !strings.HasSuffix(m, "… (2000 bytes)") || !strings.HasPrefix(m, "éé") {
		t.Errorf("unquoted: got %d bytes: %.60q…", len(m), m)
	}
}

type level int

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return fmt.Errorf("unknown level %s", Quote(string(b)))
	}
	return nil
}

type inner struct {
	Min int `yaml:"min"`
	Max int
}

type fields struct {
	Name    string            `yaml:"name"`
	Tags    []string          `yaml:"tags"`
	Level   level             `yaml:"level"`
	Limits  *inner            `yaml:"limits"`
	Labels  map[string]string `yaml:"labels"`
	On      bool              `yaml:"on"`
	Small   int8              `yaml:"small"`
	Addr    netip.Addr        `yaml:"addr"`
	Skipped string            `yaml:"-"`
	hidden  string
}

// TestFields decodes into a struct by its yaml tags (lower-cased field
// names without one), strictly.
func TestFields(t *testing.T) {
	src := `name: n
tags: [a, b]
level: high
limits: {min: 1, max: 2}
labels: {x: "1", y: "2"}
on: true
small: 7
addr: 10.0.0.1
`
	var f fields
	got := decode(t, src, func(d *Decoder, m *Mapping) { d.Fields(m, &f) })
	checkLines(t, got, nil)
	want := fields{Name: "n", Tags: []string{"a", "b"}, Level: 2, Limits: &inner{Min: 1, Max: 2},
		Labels: map[string]string{"x": "1", "y": "2"}, On: true, Small: 7, Addr: netip.MustParseAddr("10.0.0.1")}
	if f.Name != want.Name || !slices.Equal(f.Tags, want.Tags) || f.Level != want.Level || *f.Limits != *want.Limits ||
		len(f.Labels) != 2 || f.Labels["y"] != "2" || f.On != want.On || f.Small != want.Small || f.Addr != want.Addr {
		t.Errorf("got %+v, want %+v", f, want)
	}
}

func TestFields_Problems(t *testing.T) {
	src := `name: [n]
tags: x
level: medium
limits: {min: a, mx: 2}
labels: [1]
on: 1
small: 300
addr: {a: 1}
skipped: s
hidden: h
`
	var f fields
	got := decode(t, src, func(d *Decoder, m *Mapping) { d.Fields(m, &f) })
	checkLines(t, got, []string{
		`name: want a string, got a list`,
		`tags: want a list, got a string`,
		`level: unknown level "medium"`,
		`limits.min: want an integer, got "a"`,
		`limits.mx: unknown key (did you mean "max"?)`,
		`labels: want a mapping, got a list`,
		`on: want true or false, got "1"`,
		`small: want an integer, got "300"`,
		`addr: want a string, got a mapping`,
		`skipped: unknown key`,
		`hidden: unknown key`,
	})
}

// TestFields_UnknownType: a field of a type the decoder does not know is
// a problem, not a guess.
func TestFields_UnknownType(t *testing.T) {
	var f struct {
		Ratio float64           `yaml:"ratio"`
		ByNum map[int]string    `yaml:"bynum"`
		Nil   map[string]string `yaml:"nil"`
	}
	got := decode(t, "ratio: 1.5\nbynum: {1: a}\nnil: ~\n", func(d *Decoder, m *Mapping) { d.Fields(m, &f) })
	checkLines(t, got, []string{
		`ratio: cannot decode into float64`,
		`bynum: cannot decode into map[int]string`,
	})
	if f.Nil != nil {
		t.Error("null set a map")
	}
}

// TestSplitPath: the paths Child and Item make split back into their
// steps; what they cannot make does not.
func TestSplitPath(t *testing.T) {
	path := Child(Item(Child(Child("", "services"), "x.y"), 2), "build")
	steps, ok := SplitPath(path)
	want := []Step{{Key: "services"}, {Key: "x.y"}, {Index: 2, Item: true}, {Key: "build"}}
	if !ok || !slices.Equal(steps, want) {
		t.Errorf("SplitPath(%s) = %+v, %v; want %+v", path, steps, ok, want)
	}
	if steps, ok := SplitPath(""); !ok || steps != nil {
		t.Errorf("SplitPath of the top = %+v, %v", steps, ok)
	}
	for _, bad := range []string{"a..b", "a[x]", "a[", `a["x`, "a b", Child("a", strings.Repeat("k", 61))} {
		if steps, ok := SplitPath(bad); ok {
			t.Errorf("SplitPath(%q) = %+v, want not ok", bad, steps)
		}
	}
}
