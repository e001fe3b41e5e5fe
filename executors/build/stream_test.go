package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/pkg/jsonmessage"
)

// The testdata/*.jsonl streams were recorded from Docker Engine 20.10
// (API 1.41): POST /build with the classic builder and POST
// /images/…/push to a go-containerregistry registry (push-no-aux
// is push-ok without its aux message, as older engines send it;
// push-old-error has only the deprecated "error" field).

func openStream(t *testing.T, file string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRun_BuildMessageMultiStage(t *testing.T) {
	var steps []string
	r := &run{progress: func(l string) { steps = append(steps, l) }}
	if err := readStream(openStream(t, "build-multistage.jsonl"), r.buildMessage); err != nil {
		t.Fatalf("readStream: %v", err)
	}
	want := []string{
		"Step 1/6 : FROM scratch AS base",
		"Step 2/6 : COPY hello /hello",
		"Step 3/6 : FROM base AS hvt",
		"Step 4/6 : ARG EXTRA_FLAGS=none",
		"Step 5/6 : LABEL flags=$EXTRA_FLAGS",
		"Step 6/6 : COPY --from=base /hello /u-$EXTRA_FLAGS.hvt",
	}
	if !slices.Equal(steps, want) {
		t.Errorf("progress = %q, want %q", steps, want)
	}
	if got, want := r.built, "sha256:323ceaf8cf4f35f02842c0f9c020201f5384401f0efc9ac3ac8ecb02d6fa852c"; got != want {
		t.Errorf("built = %q, want %q", got, want)
	}
	// The stages' results: removing them removes their untagged parents.
	wantImages := []string{
		"sha256:c79e0d93fc1246ab85b39fa506a656a519c7c268de0758c2f5397e8ba411c21d",
		"sha256:323ceaf8cf4f35f02842c0f9c020201f5384401f0efc9ac3ac8ecb02d6fa852c",
	}
	if !slices.Equal(r.images, wantImages) {
		t.Errorf("images = %q, want %q", r.images, wantImages)
	}
	lines := r.tail.last()
	if got, want := lines[len(lines)-1], "Successfully tagged 127.0.0.1:5999/exp/app:t1"; got != want {
		t.Errorf("last log line = %q, want %q", got, want)
	}
}

func TestRun_BuildMessageErrorInStream(t *testing.T) {
	r := &run{progress: func(string) {}}
	err := readStream(openStream(t, "build-copy-failed.jsonl"), r.buildMessage)
	var ee *engineError
	if !errors.As(err, &ee) {
		t.Fatalf("readStream = %v, want an *engineError (the HTTP status was 200)", err)
	}
	if !strings.HasPrefix(ee.msg, "COPY failed: file not found in build context") {
		t.Errorf("error = %q", ee.msg)
	}
	lines := r.tail.last()
	if got, want := lines[len(lines)-1], "Step 8/8 : COPY missing /x"; got != want {
		t.Errorf("last log line = %q, want %q", got, want)
	}
	if got, want := lines[0], "Step 1/8 : FROM scratch AS base"; got != want {
		t.Errorf("first log line = %q, want %q", got, want)
	}
	// The failed stage made no image of its own beyond its base.
	wantImages := []string{
		"sha256:c79e0d93fc1246ab85b39fa506a656a519c7c268de0758c2f5397e8ba411c21d",
		"sha256:e923e787f796cb5dfbb2c30cddf00e6d46fcaa5b101180e845e0f8d3bf19d27f",
	}
	if !slices.Equal(r.images, wantImages) {
		t.Errorf("images = %q, want %q", r.images, wantImages)
	}
}

func TestRun_NoteImageKeepsLastStep(t *testing.T) {
	r := &run{}
	for _, id := range []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"} {
		r.noteImage(id, false)
	}
	if want := []string{"cccccccccccc"}; !slices.Equal(r.images, want) {
		t.Errorf("images = %q, want %q", r.images, want)
	}
	r.noteImage("sha256:cccccccccccc0000", true)
	r.noteImage("dddddddddddd", false)
	if want := []string{"sha256:cccccccccccc0000", "dddddddddddd"}; !slices.Equal(r.images, want) {
		t.Errorf("images = %q, want %q", r.images, want)
	}
}

func TestPushReport_Digest(t *testing.T) {
	const digest = "sha256:b464f77de86fc35c5f068d003d3df5cf28be5eb6f6fc4f67ba1c6a073c4a76e8"
	for _, tc := range []struct {
		file     string
		digest   string
		err      string // prefix of the engine's error, "" for none
		lastLine string
	}{
		{"push-ok.jsonl", digest, "", "t1: digest: " + digest + " size: 731"},
		{"push-no-aux.jsonl", digest, "", "t1: digest: " + digest + " size: 731"},
		{"push-refused.jsonl", "", `Get "http://127.0.0.1:5998/v2/": dial tcp`, "The push refers to repository [127.0.0.1:5998/exp/app]"},
		{"push-old-error.jsonl", "", "tag does not exist", "The push refers to repository [127.0.0.1:5999/exp/app]"},
		// Blob uploads denied: the engine retried for 50s, counting down.
		{"push-retrying.jsonl", "", "denied", "f8808b1feef9: Retrying in 1 second"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var tl tail
			rep := pushReport{tail: &tl}
			err := readStream(openStream(t, tc.file), rep.message)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("readStream: %v", err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Fatalf("readStream = %v, want an error starting %q", err, tc.err)
			}
			if got := rep.digest(); got != tc.digest {
				t.Errorf("digest = %q, want %q", got, tc.digest)
			}
			lines := tl.last()
			if got := lines[len(lines)-1]; got != tc.lastLine {
				t.Errorf("last log line = %q, want %q", got, tc.lastLine)
			}
			for i, l := range lines {
				if strings.Contains(l, "Pushing") {
					t.Errorf("progress bar kept in the log: %q", l)
				}
				if i > 0 && strings.Contains(l, "Retrying in") && strings.Contains(lines[i-1], "Retrying in") {
					t.Errorf("retry countdown kept in the log: %q", lines[i-1:i+1])
				}
			}
		})
	}
}

func TestReadStream_CutShort(t *testing.T) {
	err := readStream(strings.NewReader(`{"stream":"Step 1/2 : FROM scratch"}`+"\n"+`{"stream":"Ste`), func(*jsonmessage.JSONMessage) error { return nil })
	if err == nil {
		t.Fatal("readStream of a cut stream: no error")
	}
}

func TestTail(t *testing.T) {
	var tl tail
	var got []string
	line := func(l string) { got = append(got, l) }
	tl.write("Step 1/3 : FROM", line)
	tl.write(" scratch", line)
	tl.write("\n", line)
	tl.write("\n\n", line)
	tl.write("progress 10%\rprogress 50%\rprogress 100%\r\nnext  \nlast without newline", line)
	if want := []string{"Step 1/3 : FROM scratch", "progress 100%", "next"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if want := []string{"Step 1/3 : FROM scratch", "progress 100%", "next", "last without newline"}; !slices.Equal(tl.last(), want) {
		t.Errorf("last = %q, want %q", tl.last(), want)
	}

	tl = tail{}
	for i := range 25 {
		tl.add(fmt.Sprintf("line %d", i))
	}
	lines := tl.last()
	if len(lines) != tailLines || lines[0] != "line 5" || lines[tailLines-1] != "line 24" {
		t.Errorf("last = %q, want lines 5 to 24", lines)
	}

	tl = tail{}
	long := strings.Repeat("é", maxLineSize) // two bytes each
	l := tl.add(long)
	if len(l) > maxLineSize+len("…") || !strings.HasSuffix(l, "…") || !strings.HasPrefix(long, strings.TrimSuffix(l, "…")) {
		t.Errorf("long line kept as %d bytes %q…", len(l), l[:20])
	}
}

func TestLogError_EndsWithLines(t *testing.T) {
	err := fmt.Errorf("build acme/app@abcdef1: %w", &LogError{Err: fmt.Errorf("%w: COPY failed", ErrBuild), Lines: []string{"Step 1/2 : FROM scratch", "Step 2/2 : COPY x /x"}})
	if got, want := err.Error(), "build acme/app@abcdef1: docker build failed: COPY failed\nStep 1/2 : FROM scratch\nStep 2/2 : COPY x /x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrBuild) {
		t.Error("does not match ErrBuild")
	}
	var le *LogError
	if !errors.As(err, &le) || len(le.Lines) != 2 {
		t.Error("no *LogError with the lines")
	}
}
