package strictyaml

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{"a\nb", `"a\nb"`},
		{strings.Repeat("x", 60), `"` + strings.Repeat("x", 60) + `"`},
		{strings.Repeat("x", 61), `"` + strings.Repeat("x", 60) + `"… (61 bytes)`},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", 60) + `"… (200 bytes)`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%.20q…) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Cut inside invalid UTF-8 still gives a valid quoted string.
	if got := Quote(strings.Repeat("\xff", 100)); !utf8.ValidString(got) || !strings.HasSuffix(got, "… (100 bytes)") {
		t.Errorf("quote of invalid UTF-8 = %s", got)
	}
}

func TestQuoteMax(t *testing.T) {
	if got, want := QuoteMax("abcdef", 4), `"abcd"… (6 bytes)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := QuoteMax("abcd", 4), `"abcd"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
