package commands

import (
	"slices"
	"strings"
	"testing"
)

// allVerbs are the canonical chat verbs (the README's "Chat commands"),
// written out here so that the test fails if one goes missing from docs.
var allVerbs = []string{"deploy", "rollback", "scale", "dns set", "dns add", "dns delete", "dns show", "lock", "unlock", "adopt",
	"status", "audit", "policy explain", "policy show", "help", "approve", "deny", "config reload"}

func TestVerbs(t *testing.T) {
	if got := Verbs(); !slices.Equal(got, allVerbs) {
		t.Errorf("Verbs() = %q, want %q", got, allVerbs)
	}
}

func TestUsage_EveryVerb(t *testing.T) {
	for _, v := range allVerbs {
		t.Run(v, func(t *testing.T) {
			u := Usage(v)
			if !strings.HasPrefix(u, v+" ") && u != v {
				t.Errorf("Usage(%q) = %q, want it to start with the verb", v, u)
			}
			if strings.Contains(u, "\n") {
				t.Errorf("Usage(%q) is not one line: %q", v, u)
			}
			if got := Usage(strings.ToUpper(v)); got != u {
				t.Errorf("Usage(upper case) = %q, want %q", got, u)
			}
		})
	}
}

func TestUsage_Special(t *testing.T) {
	dns := Usage("dns")
	lines := strings.Split(dns, "\n")
	if len(lines) != 4 {
		t.Fatalf("Usage(dns) = %q, want four lines", dns)
	}
	for i, v := range []string{"dns set", "dns add", "dns delete", "dns show"} {
		if lines[i] != Usage(v) {
			t.Errorf("Usage(dns) line %d = %q, want %q", i, lines[i], Usage(v))
		}
	}
	if got, want := Usage("policy"), Usage("policy explain"); got != want {
		t.Errorf("Usage(policy) = %q, want %q", got, want)
	}
	for _, v := range []string{"", "frob", "dns frob", "deploy www", "explain"} {
		if got := Usage(v); got != "" {
			t.Errorf("Usage(%q) = %q, want \"\"", v, got)
		}
	}
	const want = "deploy SERVICE [REF|DIGEST] [--break-glass REASON…]"
	if got := Usage("deploy"); got != want {
		t.Errorf("Usage(deploy) = %q, want %q", got, want)
	}
}

func TestUsage_BreakGlassMatchesGrammar(t *testing.T) {
	// A verb's usage shows --break-glass exactly when Parse accepts it.
	for _, d := range docs {
		shows := strings.Contains(d.usage, breakGlassFlag)
		if shows != d.breakGlass {
			t.Errorf("%s: usage shows --break-glass %v, grammar allows it %v", d.name, shows, d.breakGlass)
		}
	}
}

func TestHelpText_EveryVerb(t *testing.T) {
	for _, v := range append(allVerbs, "dns", "policy") {
		t.Run(v, func(t *testing.T) {
			h := HelpText(v)
			if h == "" || h == HelpText("") {
				t.Fatalf("HelpText(%q) is empty or the overview", v)
			}
			if !strings.Contains(h, v) {
				t.Errorf("HelpText(%q) does not mention the verb:\n%s", v, h)
			}
			if !strings.Contains(h, Usage(v)) && v != "dns" {
				t.Errorf("HelpText(%q) does not show the usage line", v)
			}
			if !strings.Contains(h, "Examples:") {
				t.Errorf("HelpText(%q) has no examples", v)
			}
		})
	}
}

func TestHelpText_OverviewListsEveryVerb(t *testing.T) {
	o := HelpText("")
	for _, v := range allVerbs {
		if !strings.Contains(o, "\n"+Usage(v)+"\n") {
			t.Errorf("overview does not list %q", v)
		}
	}
	if got := HelpText("no such verb"); got != o {
		t.Errorf("HelpText(unknown) is not the overview")
	}
}

// TestHelpText_OverviewExamplesParse reads the overview as a person would:
// every usage line is followed by an example, which must parse to a
// command of that verb.
func TestHelpText_OverviewExamplesParse(t *testing.T) {
	lines := strings.Split(HelpText(""), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		verb := usageVerb(line)
		if verb == "" {
			continue
		}
		var example string
		for _, l := range lines[i+1 : min(i+3, len(lines))] {
			if e, ok := strings.CutPrefix(strings.TrimSpace(l), "e.g. "); ok {
				example = e
			}
		}
		if example == "" {
			t.Errorf("overview: no example after %q", line)
			continue
		}
		checkExample(t, verb, example)
		seen[verb] = true
	}
	for _, v := range allVerbs {
		if !seen[v] {
			t.Errorf("overview: no usage line with an example for %q", v)
		}
	}
}

// TestHelpText_ExamplesParse checks every example of every verb's help.
func TestHelpText_ExamplesParse(t *testing.T) {
	for _, v := range allVerbs {
		h := HelpText(v)
		_, ex, ok := strings.Cut(h, "\nExamples:\n")
		if !ok {
			t.Errorf("HelpText(%q) has no examples", v)
			continue
		}
		n := 0
		for _, l := range strings.Split(ex, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				checkExample(t, v, l)
				n++
			}
		}
		if n == 0 {
			t.Errorf("HelpText(%q): empty examples", v)
		}
	}
}

// usageVerb returns the verb a usage line starts with (its leading
// lower-case words), or "" if line is not a usage line.
func usageVerb(line string) string {
	if line == "" || line[0] == ' ' {
		return ""
	}
	var words []string
	for _, w := range strings.Fields(line) {
		if w != strings.ToLower(w) || strings.ContainsAny(w, "[@-") {
			break
		}
		words = append(words, w)
	}
	v := strings.Join(words, " ")
	if _, ok := lookupDoc(v); !ok {
		return ""
	}
	return v
}

func checkExample(t *testing.T, verb, example string) {
	t.Helper()
	c, err := Parse(example)
	if err != nil {
		t.Errorf("example %q of %q: %v", example, verb, err)
		return
	}
	if c.Verb() != verb {
		t.Errorf("example %q parses as %q, want %q", example, c.Verb(), verb)
	}
}

func TestCanonicalTopic(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"deploy", "deploy", true},
		{"  DNS   Set ", "dns set", true},
		{"/cs deploy", "deploy", true},
		{"dns", "dns", true},
		{"policy", "policy explain", true},
		{"Policy Explain", "policy explain", true},
		{"set", "set", false},
		{"explain", "explain", false},
	}
	for _, tt := range tests {
		got, ok := canonicalTopic(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("canonicalTopic(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
