package commands

import (
	"reflect"
	"testing"
)

// words scans line to the end and returns its tokens, or the error.
func words(line string) ([]token, error) {
	sc := &scanner{line: line}
	var toks []token
	for {
		tok, ok, err := sc.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return toks, nil
		}
		toks = append(toks, tok)
	}
}

func TestScanner_Words(t *testing.T) {
	bare := func(s string) token { return token{text: s} }
	quoted := func(s string) token { return token{text: s, quoted: true} }
	tests := []struct {
		in   string
		want []token
	}{
		{"", nil},
		{"  \t\n ", nil},
		{"a b  c", []token{bare("a"), bare("b"), bare("c")}},
		{"a\u00a0b", []token{bare("a"), bare("b")}}, // Slack sends no-break spaces
		{`"a b" c`, []token{quoted("a b"), bare("c")}},
		{`""`, []token{quoted("")}},
		{`"a \"b\" c"`, []token{quoted(`a "b" c`)}},
		{`"back\\slash"`, []token{quoted(`back\slash`)}},
		{`"keep\n as is"`, []token{quoted(`keep\n as is`)}},
		{`“smart quotes”`, []token{quoted("smart quotes")}},
		{`“mixed"`, []token{quoted("mixed")}},
		{`"escaped \” curly"`, []token{quoted("escaped ” curly")}},
		{`don't`, []token{bare("don't")}},
		{"é ü", []token{bare("é"), bare("ü")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := words(tt.in)
			if err != nil {
				t.Fatalf("words(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("words(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScanner_Errors(t *testing.T) {
	tests := []struct {
		in, token, msg string
	}{
		{`"unterminated`, `"unterminated`, "unterminated quote"},
		{`a "b c`, `"b c`, "unterminated quote"},
		{`"ends in backslash\"`, `"ends in backslash\"`, "unterminated quote"},
		{`“curly`, `“curly`, "unterminated quote"},
		{`a"b`, `a"b`, "double quote inside a word; put the whole word in quotes"},
		{`"a"b c`, `"a"b`, "text right after a closing quote; leave a space"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := words(tt.in)
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("words(%q) error = %v, want *ParseError", tt.in, err)
			}
			if pe.Token != tt.token || pe.Message != tt.msg {
				t.Errorf("got Token %q Message %q, want %q %q", pe.Token, pe.Message, tt.token, tt.msg)
			}
		})
	}
}

func TestScanner_Rest(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   ", ""},
		{" db  migration\n\tnow ", "db migration now"},
		{`"db migration"`, "db migration"},
		{`"db" "migration"`, `"db" "migration"`},
		{`5" screen`, `5" screen`},
		{`"unterminated`, `"unterminated`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sc := &scanner{line: tt.in}
			if got := sc.rest(); got != tt.want {
				t.Errorf("rest() = %q, want %q", got, tt.want)
			}
			if !sc.done() {
				t.Errorf("rest() left %q", sc.line[sc.pos:])
			}
		})
	}
}

func TestScanner_PeekRawDoesNotConsume(t *testing.T) {
	sc := &scanner{line: `  "--break-glass" x`}
	if got := sc.peekRaw(); got != `"--break-glass"` {
		t.Errorf("peekRaw() = %q", got)
	}
	tok, ok, err := sc.next()
	if err != nil || !ok || tok != (token{text: "--break-glass", quoted: true}) {
		t.Errorf("next() = %#v, %v, %v", tok, ok, err)
	}
}

// A quoted --break-glass is a word, not the option: it lets a TXT record
// or a reason hold the literal text.
func TestParse_QuotedBreakGlassIsAWord(t *testing.T) {
	got, err := Parse(`dns set x.org TXT "--break-glass"`)
	if err != nil {
		t.Fatal(err)
	}
	want := DNSSet{Name: "x.org.", Type: "TXT", Value: `"--break-glass"`}
	if got != want {
		t.Errorf("got %#v, want %#v", got, want)
	}
}
