package config

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/configtest"
)

// TestLoad_NotRegularFiles: a secret file, a known_hosts file or the
// config that is a FIFO, a socket, a device or a directory is refused at
// once, naming what it is; a FIFO no longer blocks the load.
func TestLoad_NotRegularFiles(t *testing.T) {
	const cfg = "db: a.db\n"
	for _, tc := range []struct {
		name  string
		yaml  string
		setup func(t *testing.T, dir string)
		want  string // the problem, or the error for the config itself
	}{
		{"secret FIFO", cfg + "slack: {bot_token_file: tok}\n", func(t *testing.T, dir string) { configtest.Mkfifo(t, filepath.Join(dir, "tok")) },
			`slack.bot_token_file: "DIR/tok" is a FIFO, not a regular file`},
		{"secret socket", cfg + "slack: {bot_token_file: tok}\n", func(t *testing.T, dir string) {
			l, err := net.Listen("unix", filepath.Join(dir, "tok"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, `slack.bot_token_file: "DIR/tok" is a socket, not a regular file`},
		{"secret device", cfg + "slack: {bot_token_file: /dev/zero}\n", nil,
			`slack.bot_token_file: "/dev/zero" is a character device, not a regular file`},
		{"secret directory", cfg + "slack: {bot_token_file: tok}\n", func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "tok"), 0o700) },
			`slack.bot_token_file: "DIR/tok" is a directory, not a regular file`},
		{"known_hosts FIFO", cfg + "engines: {e: {host: \"ssh://u@h\", known_hosts: kh}}\n",
			func(t *testing.T, dir string) { configtest.Mkfifo(t, filepath.Join(dir, "kh")) },
			`engines.e.known_hosts: "DIR/kh" is a FIFO, not a regular file`},
		{"config FIFO", "", func(t *testing.T, dir string) { configtest.Mkfifo(t, filepath.Join(dir, "countersign.yaml")) },
			`config "DIR/countersign.yaml" is a FIFO, not a regular file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "countersign.yaml")
			if tc.yaml != "" {
				writeFiles(t, dir, map[string]string{"countersign.yaml": tc.yaml})
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			want := replaceDir(tc.want, dir)
			configtest.Finish(t, func() {
				_, err := Options{CheckFiles: true, LookupEnv: env(nil)}.Load(path)
				if tc.yaml == "" {
					var fe *FileError
					if !errors.As(err, &fe) || err.Error() != want {
						t.Errorf("got error %v (%T), want %q, a *FileError", err, err, want)
					}
					return
				}
				checkProblems(t, err, []string{want})
			})
		})
	}
}

// TestLoad_SecretFileSymlink: a secret file reached through a symbolic
// link (Docker and Kubernetes secrets) loads as the file it points to.
func TestLoad_SecretFileSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"data/tok": "xoxb-1\n"})
	if err := os.Symlink("data/tok", filepath.Join(dir, "tok")); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("db: a.db\nslack: {bot_token_file: tok}\n"), dir, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Slack.BotToken.Reveal(); got != "xoxb-1" {
		t.Errorf("got %q, want xoxb-1", got)
	}
}

// TestLoad_Sizes: the config is refused over MaxConfig before it is
// decoded, and a secret file over 1 MiB, each naming its size and the
// limit; at the limit both load.
func TestLoad_Sizes(t *testing.T) {
	const head = "db: a.db\nslack: {bot_token_file: tok}\n"
	pad := func(s string, n int) string { return s + "#" + strings.Repeat("x", n-len(s)-2) + "\n" }
	for _, tc := range []struct {
		name         string
		config, tok  string
		wantErr      string // the error loading the config itself
		wantProblems []string
	}{
		{name: "at the limits", config: pad(head, MaxConfig), tok: "xoxb-" + strings.Repeat("x", 1<<20-5)},
		{name: "config too large", config: pad(head, MaxConfig+1), tok: "xoxb-1\n",
			wantErr: `config "DIR/countersign.yaml" is 4194305 bytes; the limit is 4 MiB`},
		{name: "secret too large", config: head, tok: strings.Repeat("x", 1<<20+1),
			wantProblems: []string{`slack.bot_token_file: "DIR/tok" is 1048577 bytes; the limit is 1 MiB`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"countersign.yaml": tc.config, "tok": tc.tok})
			_, err := Load(filepath.Join(dir, "countersign.yaml"))
			switch {
			case tc.wantErr != "":
				if err == nil || err.Error() != replaceDir(tc.wantErr, dir) {
					t.Errorf("got error %v, want %q", err, replaceDir(tc.wantErr, dir))
				}
			case tc.wantProblems != nil:
				tc.wantProblems[0] = replaceDir(tc.wantProblems[0], dir)
				checkProblems(t, err, tc.wantProblems)
			case err != nil:
				t.Errorf("refused at the limits: %v", err)
			}
		})
	}
}

// TestLoad_InlineSecretModes: a secret written inline in a config file
// group or others may read gets the warning a secret file would; a file
// only its owner reads, a secret given by file, and Parse (no file) get
// none.
func TestLoad_InlineSecretModes(t *testing.T) {
	const inline = "db: a.db\n\nslack: {bot_token: xoxb-1}\n"
	for _, tc := range []struct {
		name string
		yaml string
		mode os.FileMode
		want []string
	}{
		{"inline, 0600", inline, 0o600, nil},
		{"inline, 0400", inline, 0o400, nil},
		{"inline, 0640", inline, 0o640, []string{`slack.bot_token: inline in "DIR/c.yaml", which has mode 0640: group or others may read it (chmod 600 it, or give bot_token_file)`}},
		{"inline, 0644", inline, 0o644, []string{`slack.bot_token: inline in "DIR/c.yaml", which has mode 0644: group or others may read it (chmod 600 it, or give bot_token_file)`}},
		{"by file, 0644", "db: a.db\n\nslack: {bot_token_file: tok}\n", 0o644, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"c.yaml": tc.yaml, "tok": "xoxb-1\n"})
			path := filepath.Join(dir, "c.yaml")
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Options{LookupEnv: env(nil)}.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				tc.want[i] = replaceDir(tc.want[i], dir)
			}
			if got := lines(c.Warnings); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got warnings %q, want %q", got, tc.want)
			}
			for _, w := range c.Warnings {
				if w.Line != 3 {
					t.Errorf("warning at line %d, want 3", w.Line)
				}
			}
			if c, err := Parse([]byte(tc.yaml), dir, env(nil)); err != nil || len(c.Warnings) != 0 {
				t.Errorf("Parse: got %v, %q; want no warning", err, lines(c.Warnings))
			}
		})
	}
}
