package commands

import (
	"go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseError_Error(t *testing.T) {
	const usage = "scale SERVICE REPLICAS [--break-glass REASON…]"
	tests := []struct {
		err  ParseError
		want string
	}{
		{
			ParseError{Arg: "replicas", Token: "abc", Message: "not a whole number", Usage: usage},
			`replicas "abc": not a whole number — usage: ` + usage,
		},
		{
			ParseError{Arg: "replicas", Token: "", Message: "not a whole number", Usage: usage},
			`replicas "": not a whole number — usage: ` + usage,
		},
		{
			ParseError{Token: "4", Message: "unexpected extra argument", Usage: usage},
			`"4": unexpected extra argument — usage: ` + usage,
		},
		{ParseError{Message: "missing REPLICAS", Usage: usage}, "missing REPLICAS — usage: " + usage},
		{ParseError{Token: "frob", Message: "unknown command"}, `"frob": unknown command`},
		{ParseError{Message: "a\nb", Usage: "x\ny"}, "a\nb — usage: x | y"},
		{
			ParseError{Token: strings.Repeat("é", 100), Message: "m"},
			strconv.Quote(strings.Repeat("é", 40)+"…") + ": m",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant %q", got, tt.want)
		}
	}
}

func TestParseError_ExampleFromBrief(t *testing.T) {
	_, err := Parse("scale www abc")
	want := `replicas "abc": not a whole number`
	if err == nil || !strings.HasPrefix(err.Error(), want) ||
		!strings.HasSuffix(err.Error(), " — usage: scale SERVICE REPLICAS [--break-glass REASON…]") {
		t.Errorf("Parse(scale www abc) error = %v, want %s… — usage: …", err, want)
	}
}

// TestImports keeps the package pure: the standard library and the root
// package only (chat text to typed command needs nothing else, and the
// bot, adapters and executors import commands, never the reverse).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path != "github.com/countersign/countersign" && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: commands may import only the standard library and the root package", f, path)
			}
		}
	}
	if _, err := os.Stat("commands.go"); err != nil {
		t.Fatal("run from the package directory:", err)
	}
}
