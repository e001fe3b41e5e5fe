package github

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeAgrees checks that pushPayload.decode accepts and rejects b as
// json.Unmarshal does, and reads the same fields when both accept.
func decodeAgrees(t *testing.T, b []byte) {
	t.Helper()
	var ours, theirs pushPayload
	ourErr := ours.decode(b)
	theirErr := json.Unmarshal(b, &theirs)
	if (ourErr != nil) != (theirErr != nil) {
		t.Fatalf("%q: decode error %v, json.Unmarshal error %v", b, ourErr, theirErr)
	}
	if ourErr == nil && !reflect.DeepEqual(ours, theirs) {
		t.Fatalf("%q: decode read %+v (head %+v), json.Unmarshal %+v (head %+v)", b, ours, ours.HeadCommit, theirs, theirs.HeadCommit)
	}
}

func TestPushPayloadDecode_AsEncodingJSON(t *testing.T) {
	cases := map[string]string{
		// shapes
		"empty object":         `{}`,
		"null document":        `null`,
		"spaces around":        " \t\r\n{\"ref\":\"refs/heads/x\"} \n",
		"all nulls":            `{"ref":null,"before":null,"after":null,"deleted":null,"repository":null,"pusher":null,"sender":null,"head_commit":null}`,
		"fields":               `{"ref":"refs/heads/main","before":"b","after":"a","deleted":true,"repository":{"id":1,"full_name":"o/r"},"pusher":{"name":"p","email":null},"sender":{"login":"s"},"head_commit":{"id":"c","message":"m\nbody","url":"u","author":{"username":"au","name":"n"}}}`,
		"head commit empty":    `{"head_commit":{}}`,
		"skipped values":       `{"x":[1,-2.5e+3,0,true,false,null,"s",{"a":[[]],"b":{}}],"y":{"z":"\u00e9\n\\\"/"},"ref":"r"}`,
		"number forms":         `{"a":[0,-0,1.0,1e5,1E-5,-12.34e+56,123456789]}`,
		"escapes in value":     `{"ref":"a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\ud83d\ude00"}`,
		"lone surrogate":       `{"ref":"\ud800x","before":"\udc00","after":"\ud800\u0041"}`,
		"invalid utf8 value":   "{\"ref\":\"a\xffb\xc3\"}",
		"invalid utf8 skipped": "{\"x\":\"a\xffb\"}",
		"utf8 value":           `{"ref":"héllo wörld ✓"}`,
		"long strings":         `{"ref":"` + strings.Repeat("abcdefgh", 100) + `","x":"` + strings.Repeat("ij\\n", 50) + `"}`,
		// key matching
		"keys any case":       `{"REF":"a","Before":"b","aFtEr":"c","DELETED":true,"Repository":{"FULL_NAME":"o/r"},"PUSHER":{"Name":"p"},"Sender":{"LOGIN":"l"},"Head_Commit":{"ID":"i","Message":"m","URL":"u","Author":{"UserName":"x"}}}`,
		"keys escaped":        `{"\u0072ef":"a","s\u0065nder":{"\u006cogin":"l"}}`,
		"keys folded unicode": `{"ſender":{"login":"l"},"head_commit":{"author":{"uſername":"u"}}}`,
		"kelvin not a k":      `{"K":1,"ref":"r"}`,
		"keys near misses":    `{"refs":"a","ref ":"b","re":"c","head_commits":"d"}`,
		"key invalid utf8":    "{\"r\xffef\":\"a\"}",
		// duplicates and null
		"duplicate last wins":  `{"ref":"a","ref":"b","deleted":true,"deleted":false}`,
		"duplicate null keeps": `{"ref":"a","ref":null,"repository":{"full_name":"o/r"},"repository":null}`,
		"objects merge":        `{"repository":{"full_name":"o/r"},"repository":{"id":2},"head_commit":{"id":"i"},"head_commit":{"url":"u"}}`,
		"head commit nulled":   `{"head_commit":{"id":"i"},"head_commit":null}`,
		"head commit renewed":  `{"head_commit":null,"head_commit":{"id":"i"}}`,
		// wrong types
		"ref number":              `{"ref":42}`,
		"ref object":              `{"ref":{"a":1}}`,
		"deleted string":          `{"deleted":"yes"}`,
		"deleted number":          `{"deleted":0}`,
		"repository string":       `{"repository":"o/r"}`,
		"repository array":        `{"repository":["o/r"]}`,
		"head commit string":      `{"head_commit":"abc"}`,
		"head commit array":       `{"head_commit":[]}`,
		"head commit true":        `{"head_commit":true}`,
		"username number":         `{"head_commit":{"author":{"username":7}}}`,
		"document array":          `[]`,
		"document string":         `"x"`,
		"document number":         `1`,
		"type error then invalid": `{"ref":1,"x":}`,
		// invalid JSON
		"nothing":             ``,
		"only space":          ` `,
		"cut":                 `{"ref":`,
		"cut string":          `{"ref":"ab`,
		"trailing comma":      `{"ref":"a",}`,
		"trailing data":       `{} {}`,
		"trailing garbage":    `{}x`,
		"missing colon":       `{"ref" "a"}`,
		"missing comma":       `{"a":1 "b":2}`,
		"single quotes":       `{'ref':'a'}`,
		"unquoted key":        `{ref:"a"}`,
		"control in string":   "{\"ref\":\"a\nb\"}",
		"control in skipped":  "{\"x\":\"a\tb\"}",
		"del in string":       "{\"ref\":\"a\x7fb\"}",
		"bad escape":          `{"x":"\x41"}`,
		"short unicode":       `{"x":"\u12"}`,
		"bad unicode hex":     `{"x":"\u12g4"}`,
		"leading zero":        `{"x":01}`,
		"bare minus":          `{"x":-}`,
		"dot no digits":       `{"x":1.}`,
		"exponent no digits":  `{"x":1e+}`,
		"plus sign":           `{"x":+1}`,
		"nan":                 `{"x":NaN}`,
		"bad literal":         `{"x":nul}`,
		"bad literal true":    `{"deleted":tru}`,
		"literal then letter": `{"x":nullx}`,
		"unclosed array":      `{"x":[1,2}`,
		"array trailing":      `{"x":[1,]}`,
		"bom":                 "\xef\xbb\xbf{}",
		"too deep":            `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		"deep enough":         `{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		"deep objects":        strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
		"too deep objects":    strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
		"too deep wrong type": `{"ref":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	}
	// Every byte that ends or breaks a run of plain string bytes, at every
	// position of the eight-byte words the scanner reads strings in.
	for _, special := range []string{"\x00", "\n", "\x1f", " ", "\"", "\\n", "\\u00e9", "\\x", "\x7f", "\x80", "\xff", "\xc3\xa9"} {
		for at := range 18 {
			text := strings.Repeat("a", at) + special + strings.Repeat("b", 17-at)
			cases[fmt.Sprintf("%q at %d", special, at)] = `{"ref":"` + text + `","x":"` + text + `"}`
		}
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[f] = string(b)
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) { decodeAgrees(t, []byte(doc)) })
	}
}

// TestPushPayloadDecode_ReadsAPush guards against a decoder that agrees
// with encoding/json by reading nothing.
func TestPushPayloadDecode_ReadsAPush(t *testing.T) {
	b, err := os.ReadFile("testdata/push-branch-created.json")
	if err != nil {
		t.Fatal(err)
	}
	var p pushPayload
	if err := p.decode(b); err != nil {
		t.Fatal(err)
	}
	if p.Ref == "" || p.Repository.FullName == "" || p.HeadCommit == nil || p.HeadCommit.ID == "" || p.Sender.Login == "" {
		t.Errorf("read too little: %+v", p)
	}
}

func FuzzPushPayloadDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/push-*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `null`, `{"ref":"a","REF":null}`, `{"head_commit":{"author":{"username":"\u00e9"}}}`, `{"x":[1,{"y":-0.5e3}]}`, `{"ſender":{"login":"l"}}`, "{\"ref\":\"\xff\"}", `{"ref":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeAgrees(t, b) })
}

// BenchmarkPushPayloadDecode compares the decoder with json.Unmarshal on
// a real push delivery.
func BenchmarkPushPayloadDecode(b *testing.B) {
	body, err := os.ReadFile("testdata/push-branch-created.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var p pushPayload
			if err := p.decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var p pushPayload
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
